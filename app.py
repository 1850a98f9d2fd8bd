"""Gradio app: every checkpoint in checkpoints/ side by side on an uploaded, webcam or sample eye/face image."""
import gradio as gr

with gr.Blocks(title="eyebench") as demo:
    gr.Markdown("# eyebench\nOpen/closed eye-state workbench. The full app lands with the app issue.")

if __name__ == "__main__":
    demo.launch()

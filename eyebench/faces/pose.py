"""Head pose (yaw, pitch, roll) from the face mesh's own 3-D landmarks."""
from __future__ import annotations

import math

import numpy as np

from .eyes import HeadPose

# mesh landmarks spanning the face: outer eye corners (person's right, left), forehead top and chin
RIGHT_OUTER, LEFT_OUTER, FOREHEAD, CHIN = 33, 263, 10, 152


def head_pose(mesh: np.ndarray) -> HeadPose:
    """The face's rotation from its mesh (x, y in pixels, z depth on the same scale, smaller nearer the camera): the
    face's x axis runs from the right to the left outer eye corner, its y axis from forehead to chin; yaw and pitch
    are how far these leave the picture plane, roll the x axis' slope in it. Approximate (a few degrees)."""
    x_axis = mesh[LEFT_OUTER] - mesh[RIGHT_OUTER]
    x_axis = x_axis / np.linalg.norm(x_axis)
    y_axis = mesh[CHIN] - mesh[FOREHEAD]
    y_axis = y_axis - (y_axis @ x_axis) * x_axis
    y_axis = y_axis / np.linalg.norm(y_axis)
    roll = math.degrees(math.atan2(x_axis[1], x_axis[0]))
    yaw = math.degrees(math.asin(float(np.clip(x_axis[2], -1, 1))))  # the picture-right side further away
    pitch = math.degrees(math.asin(float(np.clip(-y_axis[2], -1, 1))))  # the chin nearer than the forehead
    return HeadPose(yaw, pitch, roll)

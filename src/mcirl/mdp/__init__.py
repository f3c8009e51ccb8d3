"""MDPs: the model, the random families of docs/method.md, features, validation, .npz I/O."""

from .families import FamilySpec, make_mdp
from .io import load_npz, save_npz
from .model import MDP

__all__ = ["MDP", "FamilySpec", "make_mdp", "load_npz", "save_npz"]

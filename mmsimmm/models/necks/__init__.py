from .byol_necks import BYOLPredictor, BYOLProjector

__all__ = ['BYOLProjector', 'BYOLPredictor']

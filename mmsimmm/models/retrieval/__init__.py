"""Image retrieval / visual place recognition (the paper's Tokyo 24/7 task)."""
from .contrastive_loss import ContrastiveTupleLoss, tuple_roles
from .gem_retriever import GeMRetriever

__all__ = ['ContrastiveTupleLoss', 'GeMRetriever', 'tuple_roles']

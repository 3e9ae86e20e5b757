"""All parameters as one flat vector, and back."""
from ...autograd import no_grad
from ...creation import cat


def parameters_to_vector(parameters):
    """One 1-d tensor of every parameter's values, in order (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive pieces of vec into the parameters' data."""
    if vec.ndim != 1:
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    at = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.data = vec[at:at + n].view_as(p).clone()
            at += n

"""Programs that build on torchvision's models, written here as they are written in public
(pytorch/examples siamese_network, the transfer-learning tutorial's fine-tuning), run with
`torch` -> tatamikomi and `torchvision` -> tatamikomi.vision, against the same program's
arithmetic in PyTorch (models_ref's ResNet-18 for the torchvision part)."""
import numpy as np
import pytest
import torch
from models_ref import Ref, resnet
from test_models import one_torch_thread  # noqa: F401 - autouse: PyTorch on one thread

import tatamikomi as tm
from tatamikomi.vision import models as tv_models

STAGES = ["conv1", "bn1", None, None, "layer1", "layer2", "layer3", "layer4"]


def siamese_network(torch, nn, models):
    """pytorch/examples siamese_network's model: ResNet-18 on 1-channel images, its fc cut
    off with children()[:-1], two embeddings joined by an MLP and a sigmoid."""

    class SiameseNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.resnet = models.resnet18(weights=None)
            self.resnet.conv1 = nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2),
                                          padding=(3, 3), bias=False)
            self.fc_in_features = self.resnet.fc.in_features
            self.resnet = torch.nn.Sequential(*(list(self.resnet.children())[:-1]))
            self.fc = nn.Sequential(nn.Linear(self.fc_in_features * 2, 256),
                                    nn.ReLU(inplace=True), nn.Linear(256, 1))
            self.sigmoid = nn.Sigmoid()
            self.resnet.apply(self.init_weights)
            self.fc.apply(self.init_weights)

        def init_weights(self, m):
            if isinstance(m, nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight)
                m.bias.data.fill_(0.01)

        def forward_once(self, x):
            output = self.resnet(x)
            return output.view(output.size()[0], -1)

        def forward(self, input1, input2):
            output = torch.cat((self.forward_once(input1), self.forward_once(input2)), 1)
            return self.sigmoid(self.fc(output))

    return SiameseNetwork()


def batches(n, seed, dtype):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((4, 1, 28, 28)).astype(dtype),
             rng.standard_normal((4, 1, 28, 28)).astype(dtype),
             rng.integers(0, 2, 4).astype(dtype)) for _ in range(n)]


def backbone_names(key):
    """'resnet.4.0.conv1.weight' (Sequential of the children) -> 'layer1.0.conv1.weight'."""
    _, index, rest = key.split(".", 2)
    return f"{STAGES[int(index)]}.{rest}"


@pytest.mark.parametrize("dtype,epochs,tol", [(np.float32, 1, 1e-4), (np.float64, 2, 1e-9)])
def test_siamese_network_trains_as_in_pytorch(dtype, epochs, tol):
    # float32 for one epoch: BatchNorm over 4 values (the 1x1 maps of a batch of 4) makes
    # training amplify float32 rounding step after step (PyTorch's own float32 run drifts
    # from its float64 one the same way); float64 for two epochs, with the StepLR between
    tm.manual_seed(1)
    model = siamese_network(tm, tm.nn, tv_models)
    if dtype is np.float64:
        model.double()
    assert [type(m).__name__ for m in model.resnet] == [
        "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Sequential", "Sequential", "Sequential",
        "Sequential", "AdaptiveAvgPool2d"]
    state = {k: torch.tensor(v.detach().numpy()) for k, v in model.state_dict().items()}
    optimizer = tm.optim.Adadelta(model.parameters(), lr=0.01)
    scheduler = tm.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    criterion = tm.nn.BCELoss()
    model.train()

    params = [k for k, _ in model.named_parameters()]
    for k in params:
        state[k].requires_grad_()
    theirs_opt = torch.optim.Adadelta([state[k] for k in params], lr=0.01)
    theirs_sched = torch.optim.lr_scheduler.StepLR(theirs_opt, step_size=1, gamma=0.7)
    backbone = {backbone_names(k): v for k, v in state.items() if k.startswith("resnet.")}

    def theirs_forward(x):
        feats = resnet(Ref(backbone, True), x, "basic", [2, 2, 2, 2], head=False)
        return feats.reshape(feats.shape[0], -1)

    ours_losses, theirs_losses = [], []
    for epoch in range(epochs):
        for images_1, images_2, targets in batches(2, epoch, dtype):
            optimizer.zero_grad()
            outputs = model(tm.tensor(images_1), tm.tensor(images_2)).squeeze()
            loss = criterion(outputs, tm.tensor(targets))
            loss.backward()
            optimizer.step()
            ours_losses.append(loss.item())

            theirs_opt.zero_grad()
            joined = torch.cat((theirs_forward(torch.tensor(images_1)),
                                theirs_forward(torch.tensor(images_2))), 1)
            hidden = torch.relu(torch.nn.functional.linear(joined, state["fc.0.weight"],
                                                           state["fc.0.bias"]))
            out = torch.sigmoid(torch.nn.functional.linear(hidden, state["fc.2.weight"],
                                                           state["fc.2.bias"])).squeeze()
            their_loss = torch.nn.functional.binary_cross_entropy(out, torch.tensor(targets))
            their_loss.backward()
            theirs_opt.step()
            theirs_losses.append(their_loss.item())
        scheduler.step()
        theirs_sched.step()
    np.testing.assert_allclose(ours_losses, theirs_losses, rtol=tol)
    # float32: all parameters together (a small gradient, as bn1.bias's, carries the
    # rounding of the large terms it cancels); float64: each one
    errs = {k: (np.linalg.norm(p.detach().numpy() - state[k].detach().numpy()) ** 2,
                np.linalg.norm(state[k].detach().numpy()) ** 2)
            for k, p in model.named_parameters()}
    if dtype is np.float32:
        errs = {"all": tuple(sum(e[i] for e in errs.values()) for i in (0, 1))}
    for k, (diff, norm) in errs.items():
        assert (diff / norm) ** 0.5 < tol, (k, (diff / norm) ** 0.5)
    assert optimizer.param_groups[0]["lr"] == theirs_opt.param_groups[0]["lr"]


def test_fine_tuning_replaces_the_head_in_place():
    # the transfer-learning tutorial: freeze the backbone, swap fc, train only fc
    tm.manual_seed(0)
    model = tv_models.resnet18(weights=None)
    for param in model.parameters():
        param.requires_grad = False
    num_ftrs = model.fc.in_features
    model.fc = tm.nn.Linear(num_ftrs, 2)
    assert list(model.state_dict())[-2:] == ["fc.weight", "fc.bias"]
    assert [n for n, _ in model.named_children()][-2:] == ["avgpool", "fc"]
    optimizer = tm.optim.SGD(model.fc.parameters(), lr=0.001, momentum=0.9)
    criterion = tm.nn.CrossEntropyLoss()

    state = {k: torch.tensor(v.detach().numpy()) for k, v in model.state_dict().items()}
    head = [state["fc.weight"].requires_grad_(), state["fc.bias"].requires_grad_()]
    theirs_opt = torch.optim.SGD(head, lr=0.001, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
        labels = rng.integers(0, 2, 4)
        optimizer.zero_grad()
        loss = criterion(model(tm.tensor(x)), tm.tensor(labels))
        loss.backward()
        optimizer.step()
        theirs_opt.zero_grad()
        their = torch.nn.functional.cross_entropy(
            resnet(Ref(state, True), torch.tensor(x), "basic", [2, 2, 2, 2], num_classes=2),
            torch.tensor(labels))
        their.backward()
        theirs_opt.step()
        np.testing.assert_allclose(loss.item(), their.item(), rtol=1e-4)
    assert model.conv1.weight.grad is None                  # frozen: no gradient at all
    for k, t in zip(("fc.weight", "fc.bias"), head):
        np.testing.assert_allclose(model.state_dict()[k].numpy(), t.detach().numpy(),
                                   rtol=1e-4, atol=1e-6)


def test_classifier_swap_keeps_torchvision_keys():
    with tm.no_grad():
        model = tv_models.mobilenet_v2(weights=None)
        model.classifier[1] = tm.nn.Linear(model.last_channel, 10)
        assert list(model.state_dict())[-2:] == ["classifier.1.weight", "classifier.1.bias"]
        assert tuple(model.eval()(tm.zeros(1, 3, 32, 32)).shape) == (1, 10)
        model = tv_models.get_model("efficientnet_b0", num_classes=3)
        assert tuple(model.eval()(tm.zeros(1, 3, 32, 32)).shape) == (1, 3)

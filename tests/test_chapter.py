"""The chapter's MNIST SimpleCNN (seeds/cnn-basics-chapter1.txt, 1.6), run in both libraries.

The model and the train/evaluate functions are the chapter's text, written once as a function of
the library so the same source builds a torch model and a tatamikomi one.
"""
import numpy as np
import pytest
import torch
from helpers import assert_close, to_numpy

import tatamikomi as tm
from tatamikomi.tools.models import simple_cnn_class


def make(torch, nn, F):
    """The chapter's SimpleCNN class in either library (the one definition in tools/models)."""
    return simple_cnn_class(nn, F)


def chapter_loops(torch):
    # 学習関数
    def train_epoch(model, train_loader, optimizer, criterion, device):
        model.train()
        running_loss = 0.0
        correct = 0
        total = 0
        for batch_idx, (data, target) in enumerate(train_loader):  # noqa: B007
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            _, predicted = output.max(1)
            total += target.size(0)
            correct += predicted.eq(target).sum().item()
        avg_loss = running_loss / len(train_loader)
        accuracy = 100. * correct / total
        return avg_loss, accuracy

    # 評価関数
    def evaluate(model, test_loader, criterion, device):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += criterion(output, target).item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader)
        accuracy = 100. * correct / len(test_loader.dataset)
        return test_loss, accuracy

    return train_epoch, evaluate


LIBS = {"ours": (tm, tm.nn, tm.nn.functional), "torch": (torch, torch.nn, torch.nn.functional)}
PRINTED = """SimpleCNN(
  (conv1): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (conv2): Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (fc1): Linear(in_features=3136, out_features=128, bias=True)
  (fc2): Linear(in_features=128, out_features=10, bias=True)
  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (dropout): Dropout(p=0.25, inplace=False)
)"""
TABLE = [("conv1.weight", [32, 1, 3, 3], 288), ("conv1.bias", [32], 32),
         ("conv2.weight", [64, 32, 3, 3], 18432), ("conv2.bias", [64], 64),
         ("fc1.weight", [128, 3136], 401408), ("fc1.bias", [128], 128),
         ("fc2.weight", [10, 128], 1280), ("fc2.bias", [10], 10)]


def models():
    """The chapter's model in both libraries, ours holding torch's initial weights."""
    torch.manual_seed(0)
    theirs = make(*LIBS["torch"])()
    ours = make(*LIBS["ours"])()
    ours.load_state_dict({k: tm.tensor(v.numpy().copy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    return x, rng.integers(0, 10, n)


def test_print_model_identical():
    ours, theirs = models()
    assert str(ours) == str(theirs) == PRINTED


def test_parameter_counts_and_table():
    tables = {}
    for name, libs in LIBS.items():
        model = make(*libs)()
        total_params = sum(p.numel() for p in model.parameters())
        trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        assert total_params == trainable_params == 421_642      # the chapter prints 421,066
        tables[name] = [(n, list(p.shape), p.numel()) for n, p in model.named_parameters()]
        text = "\n".join(f"{n:20} {str(list(p.shape)):30} {p.numel():>10,} params"
                         for n, p in model.named_parameters())
        tables[name + " text"] = text
    assert tables["ours"] == tables["torch"] == TABLE
    assert tables["ours text"] == tables["torch text"]


def test_forward_in_eval_mode_matches_torch():
    ours, theirs = models()
    ours.eval()
    theirs.eval()
    x, _ = batch()
    y = ours(tm.tensor(x))
    with torch.no_grad():
        ty = theirs(torch.tensor(x))
    assert tuple(y.shape) == (8, 10) and str(y.dtype) == "tatamikomi.float32"
    assert_close(y, ty, "float32")
    assert_close(ours(tm.tensor(x[:1])), ty[:1], "float32")        # batch of one


@pytest.mark.parametrize("mode", ["eval", "train_without_dropout"])
def test_training_step_gradients_match_torch(mode):
    ours, theirs = models()
    for m in (ours, theirs):
        m.train(mode != "eval")
        if mode != "eval":
            m.dropout.p = 0.0
    x, t = batch(seed=1)
    criterion = {"ours": tm.nn.CrossEntropyLoss(), "torch": torch.nn.CrossEntropyLoss()}
    loss = criterion["ours"](ours(tm.tensor(x)), tm.tensor(t))
    tloss = criterion["torch"](theirs(torch.tensor(x)), torch.tensor(t))
    loss.backward()
    tloss.backward()
    assert_close(loss, tloss, "float32")
    for (ka, pa), (kb, pb) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert ka == kb and pa.grad is not None and pa.grad.dtype == tm.float32
        scale = max(1.0, float(pb.grad.abs().max()))
        assert_close(pa.grad, pb.grad, "float32", scale=scale)


def _synthetic(lib, n, seed):
    """Digits that are easy to tell apart: class k lights up row block k of the image."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32) * 0.3
    for i, k in enumerate(y):
        x[i, 0, 2 * k + 3:2 * k + 6, 4:24] += 2.0
    return lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y))


def test_chapter_train_epoch_and_evaluate():
    import tatamikomi.optim
    import tatamikomi.utils.data

    tm.manual_seed(0)
    model = make(*LIBS["ours"])()
    train_loader = tm.utils.data.DataLoader(_synthetic(tm, 96, 0), batch_size=16, shuffle=True)
    test_loader = tm.utils.data.DataLoader(_synthetic(tm, 40, 1), batch_size=20, shuffle=False)
    optimizer = tatamikomi.optim.Adam(model.parameters(), lr=0.001)
    criterion = tm.nn.CrossEntropyLoss()
    device = tm.device("cpu")
    train_epoch, evaluate = chapter_loops(tm)
    losses = []
    for _ in range(3):
        train_loss, train_acc = train_epoch(model, train_loader, optimizer, criterion, device)
        losses.append(train_loss)
        assert 0.0 <= train_acc <= 100.0
    assert losses[-1] < losses[0]
    test_loss, test_acc = evaluate(model, test_loader, criterion, device)
    assert not model.training and np.isfinite(test_loss) and 0.0 <= test_acc <= 100.0
    assert test_acc > 50.0                               # the classes are trivially separable


def test_chapter_loop_follows_torch_without_dropout():
    """Same weights, same batches, dropout off: Adam's trajectory matches torch's."""
    import tatamikomi.optim
    import tatamikomi.utils.data

    ours, theirs = models()
    history = {}
    for name, model in (("ours", ours), ("torch", theirs)):
        lib = tm if name == "ours" else torch
        model.dropout.p = 0.0
        loader = lib.utils.data.DataLoader(_synthetic(lib, 48, 0), batch_size=16)
        optim = tatamikomi.optim if name == "ours" else torch.optim
        optimizer = optim.Adam(model.parameters(), lr=0.001)
        train_epoch, evaluate = chapter_loops(lib)
        device = lib.device("cpu")
        criterion = lib.nn.CrossEntropyLoss()
        history[name] = [train_epoch(model, loader, optimizer, criterion, device)[0]
                         for _ in range(2)]
        history[name].append(evaluate(model, loader, criterion, device)[0])
    np.testing.assert_allclose(history["ours"], history["torch"], rtol=2e-3)
    for (ka, pa), (kb, pb) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert ka == kb
        np.testing.assert_allclose(to_numpy(pa), to_numpy(pb), rtol=1e-2, atol=1e-4)

"""pytorch/examples mnist/main.py's calls, in our own code, run under both libraries: device
choice through torch.accelerator, Adadelta, StepLR, DataLoader, dropout and a seeded init.
Synthetic digits stand in for MNIST; with the same seed both must train to the same numbers."""
import numpy as np
import torch

import tatamikomi as tm


def program(lib, images, labels, epochs=2):
    """The example's structure: Net, train loop, test loop, scheduler per epoch."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv2(F.relu(self.conv1(x))))
            x = self.dropout1(F.max_pool2d(x, 2))
            x = self.dropout2(F.relu(self.fc1(lib.flatten(x, 1))))
            return F.log_softmax(self.fc2(x), dim=1)

    use_accel = lib.accelerator.is_available()
    lib.manual_seed(1)
    device = lib.accelerator.current_accelerator() if use_accel else lib.device("cpu")
    data = lib.utils.data.TensorDataset(lib.tensor(images), lib.tensor(labels))
    train_loader = lib.utils.data.DataLoader(data, batch_size=16, shuffle=True)
    test_loader = lib.utils.data.DataLoader(data, batch_size=32)
    model = Net().to(device)
    optimizer = lib.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses, tests = [], []
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        total, correct = 0.0, 0
        with lib.no_grad():
            for x, y in test_loader:
                out = model(x)
                total += F.nll_loss(out, y, reduction="sum").item()
                correct += out.argmax(dim=1, keepdim=True).eq(y.view_as(
                    out.argmax(dim=1, keepdim=True))).sum().item()
        tests.append((total / len(data), correct))
        scheduler.step()
    return losses, tests, scheduler.get_last_lr()


def test_mnist_main_trains_to_torchs_numbers():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 64)
    images = (rng.random((64, 1, 28, 28)) * 0.2).astype(np.float32)
    for i, k in enumerate(labels):                     # a bright stripe whose row is the label
        images[i, 0, 2 + 2 * k] += 0.8
    ours, theirs = program(tm, images, labels), program(torch, images, labels)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5)       # every training loss
    np.testing.assert_allclose([t[0] for t in ours[1]], [t[0] for t in theirs[1]], rtol=1e-5)
    assert [t[1] for t in ours[1]] == [t[1] for t in theirs[1]]
    assert ours[2] == theirs[2]
    assert ours[0][-1] < ours[0][0]                    # and it learned something

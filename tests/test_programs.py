"""Programs people copy, rewritten here with the same calls (our code, not theirs), run in both
libraries from the same seed: the numbers they print must agree.

- the 60-minute blitz's "Neural Networks" (LeNet, the grad_fn walk, a manual SGD step);
- pytorch/examples super_resolution's network (PixelShuffle, orthogonal init) and a step;
- fast_neural_style's transformer network (reflection padding, instance norm, upsampling);
- a CIFAR-style training script (augmentation by hand, cosine schedule, label smoothing, and
  calls such scripts make that the library once lacked: meshgrid, sin/cos/abs, normal, bmm,
  LazyLinear, rand(size=...), argmax(axis=...)).
pytorch/examples mnist/main.py has its own file (test_program_mnist_main.py).
"""
import math

import numpy as np
import torch
from helpers import assert_close

import tatamikomi as tm


def lenet(L):
    nn, F = L.nn, L.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = L.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)
    return Net


def blitz(L):
    """What the tutorial prints: the net, parameter sizes, the grad_fn chain, a manual update."""
    L.manual_seed(0)
    net = lenet(L)()
    printed = [repr(net).replace("tatamikomi", "torch"), len(list(net.parameters())),
               tuple(list(net.parameters())[0].size())]
    x = L.randn(1, 1, 32, 32)
    out = net(x)
    net.zero_grad()
    out.backward(L.randn(1, 10))
    target = L.randn(10).view(1, -1)
    loss = L.nn.MSELoss()(net(x), target)
    chain = [loss.grad_fn.name(), loss.grad_fn.next_functions[0][0].name(),
             loss.grad_fn.next_functions[0][0].next_functions[0][0].name()]
    net.zero_grad()
    before = net.conv1.bias.grad
    loss.backward()
    for f in net.parameters():
        f.data.sub_(f.grad.data * 0.01)
    optimizer = L.optim.SGD(net.parameters(), lr=0.01)
    optimizer.zero_grad()
    loss2 = L.nn.MSELoss()(net(x), target)
    loss2.backward()
    optimizer.step()
    return printed, chain, before, loss.item(), loss2.item(), net.fc3.weight.detach()


def test_blitz_neural_networks():
    (p1, c1, b1, l1, m1, w1), (p2, c2, b2, l2, m2, w2) = blitz(tm), blitz(torch)
    assert p1 == p2 and c1 == c2 and b1 is None and b2 is None
    np.testing.assert_allclose([l1, m1], [l2, m2], rtol=1e-5)
    assert_close(w1, w2, "float32")


def super_resolution(L, upscale=3):
    nn, init = L.nn, L.nn.init

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(32, upscale ** 2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale)
            init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv4.weight)

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            return self.pixel_shuffle(self.conv4(x))
    return Net


def train_steps(L, make, shape, target_shape, steps=2, lr=1e-3, seed=1, optim="Adam"):
    """A few optimizer steps on seeded data; the losses and final weights."""
    L.manual_seed(seed)
    model = make(L)()
    optimizer = getattr(L.optim, optim)(model.parameters(), lr=lr)
    x, y = L.rand(*shape), L.rand(*target_shape)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = L.nn.MSELoss()(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def test_super_resolution_network_trains_alike():
    ours = train_steps(tm, super_resolution, (2, 1, 12, 12), (2, 1, 36, 36))
    theirs = train_steps(torch, super_resolution, (2, 1, 12, 12), (2, 1, 36, 36))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4)     # orthogonal_: QR rounding
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def transformer_net(L):
    """fast_neural_style's image transformation network (small widths)."""
    nn = L.nn

    class ConvLayer(nn.Module):
        def __init__(self, cin, cout, k, stride):
            super().__init__()
            self.reflection_pad = nn.ReflectionPad2d(k // 2)
            self.conv2d = nn.Conv2d(cin, cout, k, stride)

        def forward(self, x):
            return self.conv2d(self.reflection_pad(x))

    class ResidualBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1, self.in1 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)
            self.conv2, self.in2 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            out = self.relu(self.in1(self.conv1(x)))
            return self.in2(self.conv2(out)) + x

    class UpsampleConvLayer(nn.Module):
        def __init__(self, cin, cout, k, stride, upsample=None):
            super().__init__()
            self.upsample = upsample
            self.reflection_pad = nn.ReflectionPad2d(k // 2)
            self.conv2d = nn.Conv2d(cin, cout, k, stride)

        def forward(self, x):
            if self.upsample:
                x = nn.functional.interpolate(x, mode="nearest", scale_factor=self.upsample)
            return self.conv2d(self.reflection_pad(x))

    class TransformerNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.in1 = ConvLayer(3, 8, 9, 1), nn.InstanceNorm2d(8, affine=True)
            self.conv2, self.in2 = ConvLayer(8, 16, 3, 2), nn.InstanceNorm2d(16, affine=True)
            self.res1, self.res2 = ResidualBlock(16), ResidualBlock(16)
            self.deconv1 = UpsampleConvLayer(16, 8, 3, 1, upsample=2)
            self.in4 = nn.InstanceNorm2d(8, affine=True)
            self.deconv2 = UpsampleConvLayer(8, 3, 9, 1)
            self.relu = nn.ReLU()

        def forward(self, x):
            y = self.relu(self.in1(self.conv1(x)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.res2(self.res1(y))
            y = self.relu(self.in4(self.deconv1(y)))
            return self.deconv2(y)
    return TransformerNet


def test_fast_neural_style_network_trains_alike():
    # SGD, not Adam: a conv bias before an instance norm has a true gradient of 0, and Adam
    # would blow its rounding noise (1e-9) up to full-size steps of either sign
    ours = train_steps(tm, transformer_net, (2, 3, 16, 16), (2, 3, 16, 16), lr=0.1, optim="SGD")
    theirs = train_steps(torch, transformer_net, (2, 3, 16, 16), (2, 3, 16, 16), lr=0.1,
                         optim="SGD")
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def cifar_script(L, steps=3):
    """A CIFAR-style script's calls on random 32x32 images (no files: no CIFAR copy here)."""
    nn = L.nn
    L.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LazyLinear(10))
    images = L.rand(size=(16, 3, 32, 32))
    labels = L.randint(0, 10, size=(16,))
    model(images[:1])                                    # materialise LazyLinear
    optimizer = L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4,
                            nesterov=True)
    scheduler = L.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    ys, xs = L.meshgrid(L.arange(32.0), L.arange(32.0), indexing="ij")
    wave = (L.sin(xs / 5) * L.cos(ys / 7)).abs()          # a fixed brightness pattern
    noise = L.normal(0.0, 0.05, size=(16, 3, 32, 32))
    record = []
    for _ in range(steps):
        flip = L.rand(16) < 0.5                          # random horizontal flips
        batch = L.where(flip.view(-1, 1, 1, 1), images.flip(3), images) * (0.8 + 0.2 * wave)
        batch = batch + noise
        optimizer.zero_grad()
        out = model(batch)
        loss = criterion(out, labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        gram = L.bmm(out.view(4, 4, 10), out.view(4, 4, 10).transpose(1, 2))
        record += [loss.item(), out.argmax(axis=1).tolist(), scheduler.get_last_lr()[0],
                   gram.sum().item()]
    return record


def test_cifar_style_script_runs_alike():
    ours, theirs = cifar_script(tm), cifar_script(torch)
    for a, b in zip(ours, theirs):
        if isinstance(a, list):
            assert a == b
        else:
            assert math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


def _hogwild_worker(model, rank, steps):
    """pytorch/examples mnist_hogwild's train(): each process steps the shared model."""
    tm.manual_seed(10 + rank)
    optimizer = tm.optim.SGD(model.parameters(), lr=0.1)
    data = tm.utils.data.TensorDataset(tm.randn(32, 1, 8, 8), tm.randint(0, 3, (32,)))
    loader = tm.utils.data.DataLoader(data, batch_size=8, shuffle=True)
    model.train()
    for _ in range(steps):
        for x, y in loader:
            optimizer.zero_grad()
            loss = tm.nn.functional.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()


def test_mnist_hogwild_trains_one_shared_model_from_two_processes():
    import tatamikomi.multiprocessing as mp
    nn = tm.nn
    tm.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Dropout2d(0.1), nn.Flatten(),
                          nn.Linear(4 * 6 * 6, 3), nn.LogSoftmax(dim=1))
    model.share_memory()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    processes = []
    for rank in range(2):
        p = mp.Process(target=_hogwild_worker, args=(model, rank, 2))
        p.start()
        processes.append(p)
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    after = [p.detach().numpy() for p in model.parameters()]
    # both workers' steps landed in the parent's (shared) weights
    assert all(not np.array_equal(a, b) for a, b in zip(after, before))


def dcgan(L, steps=2, nz=8, ngf=4, ndf=4):
    """pytorch/examples dcgan's main.py calls at small widths: 16x16 images, two steps."""
    nn = L.nn
    L.backends.cudnn.benchmark = True
    device = L.device("cpu" if not L.cuda.is_available() else "cuda")

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    netG = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, 3, 4, 2, 1, bias=False), nn.Tanh()).to(device)
    netD = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid()).to(device)
    L.manual_seed(999)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = L.randn(4, nz, 1, 1, device=device)
    optD = L.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = L.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = L.rand(4, 3, 16, 16) * 2 - 1
    record = []
    for _ in range(steps):
        netD.zero_grad()
        label = L.full((4,), 1.0, dtype=real.dtype, device=device)
        errD_real = criterion(netD(real).view(-1), label)
        errD_real.backward()
        noise = L.randn(4, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(0.0)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        optD.step()
        netG.zero_grad()
        label.fill_(1.0)
        errG = criterion(netD(fake).view(-1), label)
        errG.backward()
        optG.step()
        record += [errD_real.item(), errD_fake.item(), errG.item(), output.mean().item()]
    with L.no_grad():
        record.append(netG(fixed_noise).detach().abs().mean().item())
    return record


def test_dcgan_trains_alike():
    np.testing.assert_allclose(dcgan(tm), dcgan(torch), rtol=1e-4)

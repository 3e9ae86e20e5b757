"""Train the chapter's SimpleCNN on MNIST (Adam 1e-3, batch 64, 3 epochs by default)."""
import os
import sys
import time
from pathlib import Path

from .. import manual_seed, no_grad, nn, optim, random
from ..cli import UserError, load_file, non_negative, positive, writable_folder
from ..serialization import remove_stale_temps, save
from ..utils.data import DataLoader, Subset
from ..vision import datasets, transforms
from .models import SimpleCNN

RAW = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
       "t10k-labels-idx1-ubyte")
CHECKPOINT_KEYS = ("epoch", "model", "optimizer", "history", "rng", "loader_rng")


def add_arguments(p):
    p.add_argument("--epochs", type=positive(int), default=3,
                   help="train until this many epochs are done (default: %(default)s)")
    p.add_argument("--batch-size", type=positive(int), default=64,
                   help="images per Adam step (default: %(default)s)")
    p.add_argument("--test-batch-size", type=positive(int), default=1000,
                   help="images per batch when testing (default: %(default)s)")
    p.add_argument("--lr", type=positive(float), default=1e-3,
                   help="Adam's learning rate (default: %(default)s)")
    p.add_argument("--seed", type=non_negative, default=0,
                   help="seed of the weights, dropout and shuffling (default: %(default)s)")
    p.add_argument("--data", default=None,
                   help="MNIST root (torchvision layout root/MNIST/raw) or a folder holding the "
                        "four raw IDX files (default: $TATAMIKOMI_DATA, else a user cache folder, "
                        "downloaded on first use)")
    p.add_argument("--out", default="runs/mnist",
                   help="folder for checkpoint.pt and the PNGs (default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt (default: start over)")
    p.add_argument("--limit-train", type=positive(int), default=None,
                   help="use the first N train images (default: all 60,000)")
    p.add_argument("--limit-test", type=positive(int), default=None,
                   help="use the first N test images (default: all 10,000)")
    p.add_argument("--no-plots", action="store_true",
                   help="skip curves.png and filters.png (default: draw them)")


def cache_dir():
    """The per-user cache folder (XDG on Linux)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tatamikomi"


def _data_option(data):
    return f"--data {data}" if data else f"$TATAMIKOMI_DATA={os.environ['TATAMIKOMI_DATA']}"


def _no_mnist(data, where):
    files = ", ".join(RAW)
    return (f"{_data_option(data)}: {where}. MNIST needs the four raw IDX files ({files}; each "
            "may be .gz), in that folder or in its MNIST/raw. Fix: pass --data DIR with a folder "
            "that holds them, set TATAMIKOMI_DATA=DIR, or give neither to download MNIST into "
            f"{cache_dir()}.")


def mnist_root(data, out):
    """A torchvision-style root for MNIST, and whether downloading is allowed.

    A folder that holds the raw files itself (as a plain copy of MNIST does) is linked into
    OUT/data/MNIST/raw, so the dataset code needs to know only one layout.
    """
    given = data
    data = data or os.environ.get("TATAMIKOMI_DATA")
    if data is None:
        return cache_dir(), True
    data = Path(data)
    if not data.is_dir():
        raise UserError(_no_mnist(given, "no such folder"))
    if all((data / name).exists() or (data / f"{name}.gz").exists() for name in RAW):
        root = Path(out) / "data"
        raw = root / "MNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for name in os.listdir(data):
            link = raw / name
            if name.split(".")[0] in RAW and not link.exists():
                link.symlink_to((data / name).resolve())
        return root, False
    raw = data / "MNIST" / "raw"
    if not all((raw / n).exists() or (raw / f"{n}.gz").exists() for n in RAW):
        raise UserError(_no_mnist(given, "the MNIST files are not there"))
    return data, False


def _mnist(root, train, download, tf, data):
    """datasets.MNIST, its errors told as the command line's (options, not arguments)."""
    try:
        return datasets.MNIST(root, train=train, download=download, transform=tf)
    except RuntimeError as e:
        if download:
            raise UserError(f"{e}\nOr pass --data DIR with a folder that holds the four files.") \
                from None
        # name the user's file, not the link mnist_root made to it
        linked = Path(root) / "MNIST" / "raw"
        source = Path(data or os.environ["TATAMIKOMI_DATA"])
        message = str(e).replace(str(linked), str(source)) if linked.is_dir() else str(e)
        raise UserError(f"{_data_option(data)}: {message}") from None


def loaders(args):
    """Train and test loaders over MNIST with the chapter's normalization."""
    root, download = mnist_root(args.data, args.out)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = _mnist(root, True, download, tf, args.data)
    test = _mnist(root, False, download, tf, args.data)
    if args.limit_train:
        train = Subset(train, range(min(args.limit_train, len(train))))
    if args.limit_test:
        test = Subset(test, range(min(args.limit_test, len(test))))
    gen = random.Generator().manual_seed(args.seed)
    return (DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=gen),
            DataLoader(test, batch_size=args.test_batch_size, shuffle=False), gen)


def train_epoch(model, loader, optimizer, criterion, bar):
    """One pass over loader; the bar shows the running loss and accuracy."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for i, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        correct += int((output.array.argmax(1) == target.array).sum())
        seen += len(target)
        bar.update(1)
        if i % 10 == 0:
            bar.set_postfix(loss=f"{total_loss / (i + 1):.4f}", acc=f"{100 * correct / seen:.2f}%")
    return total_loss / len(loader), 100.0 * correct / seen


def evaluate(model, loader, criterion):
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with no_grad():
        for data, target in loader:
            output = model(data)
            total_loss += criterion(output, target).item()
            correct += int((output.array.argmax(1) == target.array).sum())
            seen += len(target)
    return total_loss / len(loader), 100.0 * correct / seen


def _require(name):
    try:
        return __import__(name)
    except ImportError:
        raise UserError(f"train needs {name}: pip install 'tatamikomi[train]'") from None


def read_checkpoint(path):
    """train's checkpoint at path, loaded safely and checked for what --resume needs."""
    ckpt = load_file(path, "--resume")
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise UserError(f"--resume: {path} is not a train checkpoint (it lacks "
                        f"{', '.join(missing)}); pass the --out of a train run.")
    return ckpt


def _restore(ckpt, path, model, optimizer, gen):
    try:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        random.set_rng_state(ckpt["rng"])
        gen.set_state(ckpt["loader_rng"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"--resume: {path} does not fit this model and optimizer: {e}") from None
    return list(ckpt["history"]), int(ckpt["epoch"])


def main(args):
    tqdm = _require("tqdm").tqdm
    if not args.no_plots:
        _require("matplotlib")                 # before training, not after the first epoch
    out = writable_folder(args.out)
    for name in remove_stale_temps(out):
        print(f"removed {out / name}: a save that was killed part-way", file=sys.stderr)
    ckpt_path = out / "checkpoint.pt"
    if args.resume and not ckpt_path.exists():
        raise UserError(f"--resume: no checkpoint at {ckpt_path}; run without --resume to start, "
                        "or pass the --out of the run to continue.")
    ckpt = read_checkpoint(ckpt_path) if args.resume else None
    manual_seed(args.seed)
    train_loader, test_loader, gen = loaders(args)
    model = SimpleCNN()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    criterion = nn.CrossEntropyLoss()
    history, start = [], 0
    if ckpt is not None:
        history, start = _restore(ckpt, ckpt_path, model, optimizer, gen)
        print(f"resumed from {ckpt_path} after epoch {start}")
    print(f"SimpleCNN: {sum(p.numel() for p in model.parameters()):,} parameters; "
          f"{len(train_loader.dataset):,} train / {len(test_loader.dataset):,} test images")
    header = f"{'epoch':>5} {'train loss':>10} {'train acc':>9} {'test loss':>9} " \
             f"{'test acc':>8} {'time':>7}"
    print(header)
    try:
        for epoch in range(start, args.epochs):
            t0 = time.perf_counter()
            with tqdm(total=len(train_loader), desc=f"epoch {epoch + 1}/{args.epochs}",
                      unit="batch", leave=False, file=sys.stderr) as bar:
                tr_loss, tr_acc = train_epoch(model, train_loader, optimizer, criterion, bar)
            te_loss, te_acc = evaluate(model, test_loader, criterion)
            seconds = time.perf_counter() - t0
            history.append(dict(epoch=epoch + 1, train_loss=tr_loss, train_acc=tr_acc,
                                test_loss=te_loss, test_acc=te_acc, seconds=seconds))
            print(f"{epoch + 1:>5} {tr_loss:>10.4f} {tr_acc:>8.2f}% {te_loss:>9.4f} "
                  f"{te_acc:>7.2f}% {seconds:>6.1f}s", flush=True)
            save(dict(epoch=epoch + 1, model=model.state_dict(),
                      optimizer=optimizer.state_dict(), history=history,
                      rng=random.get_rng_state(), loader_rng=gen.get_state()), ckpt_path)
            if not args.no_plots:
                plot_curves(history, out / "curves.png")
                plot_filters(model.conv1.weight.detach().numpy(), out / "filters.png")
    except KeyboardInterrupt:
        done = history[-1]["epoch"] if history else start
        print(f"\ninterrupted: {ckpt_path} holds epoch {done}; continue with --resume",
              file=sys.stderr)
        return 130
    print(f"checkpoint: {ckpt_path}" + ("" if args.no_plots else
                                         f"; plots: {out / 'curves.png'}, {out / 'filters.png'}"))
    return 0


def _pyplot():
    matplotlib = _require("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_curves(history, path):
    """Loss and accuracy per epoch, train and test, written atomically."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((a, "loss", "cross-entropy loss"), (b, "acc", "accuracy (%)")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(epochs, [h[f"test_{key}"] for h in history], "s-", label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("SimpleCNN on MNIST")
    fig.tight_layout()
    _savefig(fig, path)
    plt.close(fig)


def plot_filters(weight, path):
    """The first layer's filters as a grid of images (drawn by viz.plot_filters), atomically."""
    _require("matplotlib")
    from . import viz
    viz.plot_filters(weight, path, title="conv1 filters (learned)")


def _savefig(fig, path):
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    fig.savefig(tmp, dpi=100, format="png")
    os.replace(tmp, path)

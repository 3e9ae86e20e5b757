"""Train a CNN on MNIST, Fashion-MNIST, CIFAR-10 or image folders (default: the chapter's
SimpleCNN on MNIST, Adam 1e-3, batch 64, 3 epochs)."""
import os
import sys
import time
from pathlib import Path

from .. import manual_seed, nn, no_grad, optim, random
from ..cli import UserError, load_file, non_negative, positive, writable_folder
from ..serialization import remove_stale_temps, save
from ..utils.data import DataLoader, Subset
from ..vision import datasets, models, transforms
from . import summary
from .models import SimpleCNN

RAW = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
       "t10k-labels-idx1-ubyte")
CHECKPOINT_KEYS = ("epoch", "model", "optimizer", "history", "rng", "loader_rng")
# name -> (dataset class, channel means, channel stds, images' C, H, W)
DATASETS = {
    "mnist": ("MNIST", (0.1307,), (0.3081,), (1, 28, 28)),
    "fashion-mnist": ("FashionMNIST", (0.2860,), (0.3530,), (1, 28, 28)),
    "cifar10": ("CIFAR10", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), (3, 32, 32)),
    "folder": (None, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), (3, 32, 32)),
}
OPTIMIZERS = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD,
              "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad, "adadelta": optim.Adadelta}
SCHEDULES = ("none", "cosine", "step", "onecycle")
# what a checkpoint records and --resume takes from it: option -> default
SETTINGS = {"dataset": "mnist", "model": "SimpleCNN", "augment": False, "optimizer": "adam",
            "lr": 1e-3, "weight_decay": 0.0, "schedule": "none", "batch_size": 64, "seed": 0}


def add_arguments(p):
    p.add_argument("--epochs", type=positive(int), default=3,
                   help="train until this many epochs are done (default: %(default)s)")
    p.add_argument("--batch-size", type=positive(int), default=None,
                   help="images per optimizer step (default: 64)")
    p.add_argument("--test-batch-size", type=positive(int), default=1000,
                   help="images per batch when testing (default: %(default)s)")
    p.add_argument("--lr", type=positive(float), default=None,
                   help="the optimizer's learning rate (default: 0.001)")
    p.add_argument("--seed", type=non_negative, default=None,
                   help="seed of the weights, dropout, shuffling and augmentation (default: 0)")
    p.add_argument("--data", default=None,
                   help="the dataset's root (torchvision's layout, e.g. root/MNIST/raw or "
                        "root/cifar-10-batches-py) or a folder of its files; for --dataset "
                        "folder, a folder with train/ and test/ class folders (default: "
                        "$TATAMIKOMI_DATA, else a user cache folder, downloaded on first use)")
    p.add_argument("--out", default="runs/mnist",
                   help="folder for checkpoint.pt and the PNGs (default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt with its settings (default: start over)")
    p.add_argument("--limit-train", type=positive(int), default=None,
                   help="use the first N train images (default: all)")
    p.add_argument("--limit-test", type=positive(int), default=None,
                   help="use the first N test images (default: all)")
    p.add_argument("--no-plots", action="store_true",
                   help="skip curves.png and filters.png (default: draw them)")
    p.add_argument("--dataset", choices=list(DATASETS), default=None,
                   help="what to train on (default: mnist)")
    p.add_argument("--model", default=None,
                   help="SimpleCNN (the chapter's, 1x28x28 images), a tatamikomi.vision.models "
                        "builder such as resnet18 (built with the dataset's class count), or "
                        "FILE.py:Class (default: SimpleCNN)")
    p.add_argument("--augment", action="store_true", default=None,
                   help="random crops (padded by 4 pixels for CIFAR and folders, 2 for the "
                        "MNISTs) and, except for digits, horizontal flips (default: off)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None,
                   help="the update rule; sgd uses momentum 0.9 (default: adam)")
    p.add_argument("--weight-decay", type=non_negative_float, default=None,
                   help="the optimizer's weight decay (default: 0)")
    p.add_argument("--schedule", choices=SCHEDULES, default=None,
                   help="learning rate schedule: cosine to 0 over the epochs, step (x0.1 every "
                        "third of them), onecycle (per batch, peak at --lr) (default: none)")
    p.add_argument("--workers", type=non_negative, default=0,
                   help="DataLoader worker processes for the training data (default: 0)")
    p.add_argument("--nproc", type=positive(int), default=1,
                   help="train on N processes (ranks started through mpiexec, which needs "
                        "mpi4py and mpich), one thread each, each taking 1/N of every batch; "
                        "rank 0 prints and saves (default: %(default)s)")


def non_negative_float(text):
    import argparse
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


non_negative_float.__name__ = "non-negative float"


def cache_dir():
    """The per-user cache folder (XDG on Linux)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tatamikomi"


def _data_option(data):
    return f"--data {data}" if data else f"$TATAMIKOMI_DATA={os.environ['TATAMIKOMI_DATA']}"


def _no_idx(data, where, name="MNIST"):
    files = ", ".join(RAW)
    return (f"{_data_option(data)}: {where}. {name} needs the four raw IDX files ({files}; each "
            f"may be .gz), in that folder or in its {name}/raw. Fix: pass --data DIR with a "
            f"folder that holds them, set TATAMIKOMI_DATA=DIR, or give neither to download "
            f"{name} into {cache_dir()}.")


def _given(data, missing):
    """The folder --data (else $TATAMIKOMI_DATA) names, or None; missing(data) is the
    UserError's message when it names no folder."""
    folder = data or os.environ.get("TATAMIKOMI_DATA")
    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise UserError(missing(data))
    return Path(folder)


def mnist_root(data, out, name="MNIST"):
    """A torchvision-style root for an IDX dataset, and whether downloading is allowed.

    A folder that holds the raw files itself (as a plain copy of MNIST does) is linked into
    OUT/data/NAME/raw, so the dataset code needs to know only one layout.
    """
    given = data
    folder = _given(data, lambda d: _no_idx(d, "no such folder", name))
    if folder is None:
        return cache_dir(), True
    if all((folder / n).exists() or (folder / f"{n}.gz").exists() for n in RAW):
        root = Path(out) / "data"
        raw = root / name / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for entry in os.listdir(folder):
            link = raw / entry
            if entry.split(".")[0] in RAW and not link.exists():
                link.symlink_to((folder / entry).resolve())
        return root, False
    raw = folder / name / "raw"
    if not all((raw / n).exists() or (raw / f"{n}.gz").exists() for n in RAW):
        raise UserError(_no_idx(given, f"the {name} files are not there", name))
    return folder, False


def _idx_dataset(name, root, train, download, tf, data):
    """datasets.NAME, its errors told as the command line's (options, not arguments)."""
    try:
        return getattr(datasets, name)(root, train=train, download=download, transform=tf)
    except RuntimeError as e:
        if download:
            raise UserError(f"{e}\nOr pass --data DIR with a folder that holds the four files.") \
                from None
        linked = Path(root) / name / "raw"      # name the user's file, not our link to it
        source = Path(data or os.environ["TATAMIKOMI_DATA"])
        message = str(e).replace(str(linked), str(source)) if linked.is_dir() else str(e)
        raise UserError(f"{_data_option(data)}: {message}") from None


def _cifar(root, train, download, tf, data):
    base = datasets.CIFAR10.base_folder
    if root is not None and Path(root).name == base:       # --data names the folder itself
        root = Path(root).parent
    try:
        return datasets.CIFAR10(root, train=train, download=download, transform=tf)
    except RuntimeError as e:
        where = _data_option(data) if not download else f"downloading into {root}"
        raise UserError(f"{where}: {e} (CIFAR-10 wants {base}/ with data_batch_1..5, test_batch "
                        "and batches.meta). Fix: pass --data DIR with a folder that holds "
                        f"{base}, or give no --data to download it into {cache_dir()}.") \
            from None


def _folder(data, train, tf):
    if data is None:
        raise UserError("--dataset folder needs --data DIR: a folder with train/ and test/, "
                        "each holding one folder of images per class")
    split = Path(data) / ("train" if train else "test")
    if not split.is_dir():
        raise UserError(f"--data {data}: no {split.name}/ folder; --dataset folder wants "
                        f"{data}/train/CLASS/*.png and {data}/test/CLASS/*.png")
    try:
        return datasets.ImageFolder(split, transform=tf)
    except (FileNotFoundError, OSError) as e:
        raise UserError(f"--data {data}: {e}") from None


def _transforms(settings):
    """(train transform, test transform) for the dataset, with augmentation if asked."""
    _, mean, std, (c, h, w) = DATASETS[settings["dataset"]]
    tail = [transforms.ToTensor(), transforms.Normalize(mean, std)]
    head = []
    if settings["dataset"] == "folder":
        head = [transforms.Resize(h), transforms.CenterCrop((h, w))]
    augment = []
    if settings["augment"]:
        augment = [transforms.RandomCrop((h, w), padding=2 if c == 1 else 4)]
        if settings["dataset"] != "mnist":                # a mirrored digit is another digit
            augment.append(transforms.RandomHorizontalFlip())
    return transforms.Compose(head + augment + tail), transforms.Compose(head + tail)


def datasets_for(args, settings):
    """(train set, test set) of the chosen dataset, as the command line's options say."""
    name = settings["dataset"]
    train_tf, test_tf = _transforms(settings)
    cls = DATASETS[name][0]
    if name == "folder":
        return _folder(args.data, True, train_tf), _folder(args.data, False, test_tf)
    if name == "cifar10":
        folder = _given(args.data, lambda d: f"{_data_option(d)}: no such folder. Fix: pass "
                        "--data DIR with a folder that holds cifar-10-batches-py, or give no "
                        f"--data to download CIFAR-10 into {cache_dir()}.")
        root, download = (cache_dir(), True) if folder is None else (folder, False)
        return (_cifar(root, True, download, train_tf, args.data),
                _cifar(root, False, download, test_tf, args.data))
    root, download = mnist_root(args.data, args.out, cls)
    return (_idx_dataset(cls, root, True, download, train_tf, args.data),
            _idx_dataset(cls, root, False, download, test_tf, args.data))


def loaders(args, settings=None):
    """Train and test loaders over the dataset, and the generator that shuffles."""
    settings = settings or resolve_settings(args, None)
    train, test = datasets_for(args, settings)
    if args.limit_train:
        train = Subset(train, range(min(args.limit_train, len(train))))
    if args.limit_test:
        test = Subset(test, range(min(args.limit_test, len(test))))
    gen = random.Generator().manual_seed(settings["seed"])
    workers = getattr(args, "workers", 0)
    return (DataLoader(train, batch_size=settings["batch_size"], shuffle=True, generator=gen,
                       num_workers=workers, persistent_workers=workers > 0),
            DataLoader(test, batch_size=args.test_batch_size, shuffle=False), gen)


# ----- settings, model, optimizer

def resolve_settings(args, ckpt):
    """The run's settings: the options given, else the checkpoint's (on --resume), else the
    defaults. A given option that contradicts the checkpoint is a UserError."""
    saved = (ckpt or {}).get("settings") or {}
    if ckpt is not None and not saved:                   # written before settings were kept
        saved = dict(SETTINGS)
    settings = {}
    for key, default in SETTINGS.items():
        given = getattr(args, key, None)
        if ckpt is not None and given is not None and key in saved and given != saved[key]:
            flag = "--" + key.replace("_", "-")
            raise UserError(f"--resume: {args.out}/checkpoint.pt was trained with {flag} "
                            f"{saved[key]}, not {given}; drop {flag} to continue it, or pass "
                            "a new --out to start another run.")
        settings[key] = given if given is not None else saved.get(key, default)
    return settings


def class_count(loader):
    """How many classes the loader's dataset has (a folder's count, else 10)."""
    ds = loader.dataset
    while isinstance(ds, Subset):
        ds = ds.dataset
    return len(getattr(ds, "classes", None) or range(10))


def build_model(settings, classes=10):
    """The model --model names, for the dataset's images and class count."""
    name, (c, h, w) = settings["model"], DATASETS[settings["dataset"]][3]
    if name == "SimpleCNN":
        if (c, h, w) != (1, 28, 28):
            raise UserError(f"--model SimpleCNN takes 1x28x28 images; --dataset "
                            f"{settings['dataset']} gives {c}x{h}x{w}. Pick a "
                            "tatamikomi.vision.models network, e.g. --model resnet18.")
        return SimpleCNN()
    if ":" in name:
        return summary.instantiate(name)
    if name not in models.list_models():
        raise UserError(f"--model {name}: not SimpleCNN, FILE.py:Class or a "
                        f"tatamikomi.vision.models builder ({', '.join(models.list_models())})")
    try:
        return models.get_model(name, num_classes=classes)
    except (TypeError, ValueError) as e:
        raise UserError(f"--model {name}: {e}") from None


def first_conv(model):
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)


def build_optimizer(model, settings):
    cls = OPTIMIZERS[settings["optimizer"]]
    kwargs = dict(lr=settings["lr"], weight_decay=settings["weight_decay"])
    if cls is optim.SGD:
        kwargs["momentum"] = 0.9
    return cls(model.parameters(), **kwargs)


def build_schedule(optimizer, settings, epochs, steps_per_epoch):
    """(scheduler or None, whether it steps per batch rather than per epoch)."""
    kind = settings["schedule"]
    if kind == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs), False
    if kind == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3),
                                         gamma=0.1), False
    if kind == "onecycle":
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings["lr"], epochs=epochs,
                                             steps_per_epoch=steps_per_epoch), True
    return None, False


# ----- the loop

def _fit_channels(data, channels):
    """Grey images for a model whose first conv wants 3 channels: the one channel repeated."""
    if channels == 3 and data.shape[1] == 1:
        return data.expand(-1, 3, -1, -1)
    return data


def train_epoch(model, loader, optimizer, criterion, bar, batch_log=None, per_batch=None,
                channels=None):
    """One pass over loader; the bar shows the running loss and accuracy; each batch's loss
    and accuracy go to batch_log; per_batch (a scheduler) steps after each batch."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for i, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        output = model(_fit_channels(data, channels))
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        if per_batch is not None:
            per_batch.step()
        hits = int((output.array.argmax(1) == target.array).sum())
        total_loss += loss.item()
        correct += hits
        seen += len(target)
        if batch_log is not None:
            batch_log.append((loss.item(), 100.0 * hits / len(target)))
        bar.update(1)
        if i % 10 == 0:
            bar.set_postfix(loss=f"{total_loss / (i + 1):.4f}", acc=f"{100 * correct / seen:.2f}%")
    return total_loss / len(loader), 100.0 * correct / seen


def evaluate(model, loader, criterion, channels=None):
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with no_grad():
        for data, target in loader:
            output = model(_fit_channels(data, channels))
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
    if isinstance(ckpt["rng"], dict) or isinstance(ckpt["loader_rng"], dict):
        raise UserError(f"--resume: {path} was written by an older tatamikomi whose random "
                        "state was NumPy's, not PyTorch's: it cannot continue the same draws. "
                        "Start over without --resume, or pass a new --out.")
    return ckpt


def _restore(ckpt, path, model, optimizer, gen, scheduler=None):
    try:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        random.set_rng_state(ckpt["rng"])
        gen.set_state(ckpt["loader_rng"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"--resume: {path} does not fit this model and optimizer: {e}") from None
    return list(ckpt["history"]), int(ckpt["epoch"])


def _describe(model, settings, train_loader, test_loader):
    name = settings["model"]
    print(f"{name} on {settings['dataset']}: "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; "
          f"{len(train_loader.dataset):,} train / {len(test_loader.dataset):,} test images; "
          f"{settings['optimizer']} lr {settings['lr']:g}, schedule {settings['schedule']}"
          + (", augmented" if settings["augment"] else ""))


def _start(args):
    """(out folder, checkpoint path, checkpoint or None): every check before any data."""
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
    return tqdm, out, ckpt_path, ckpt


def main(args):
    """One process's training; `python -m tatamikomi train` comes here through train_ddp.main,
    which starts --nproc N ranks instead (train_ddp imports this module, not the other way)."""
    if getattr(args, "nproc", 1) > 1:
        raise UserError(f"--nproc {args.nproc}: train.main trains in one process; "
                        "tatamikomi.tools.train_ddp.main starts the ranks")
    tqdm, out, ckpt_path, ckpt = _start(args)
    settings = resolve_settings(args, ckpt)
    manual_seed(settings["seed"])
    train_loader, test_loader, gen = loaders(args, settings)
    model = build_model(settings, class_count(train_loader))
    conv = first_conv(model)
    channels = conv.in_channels if conv is not None else None
    optimizer = build_optimizer(model, settings)
    scheduler, per_batch = build_schedule(optimizer, settings, args.epochs, len(train_loader))
    criterion = nn.CrossEntropyLoss()
    history, start, batches = [], 0, []
    if ckpt is not None:
        history, start = _restore(ckpt, ckpt_path, model, optimizer, gen, scheduler)
        batches = list(ckpt.get("batches") or [])
        print(f"resumed from {ckpt_path} after epoch {start}")
    _describe(model, settings, train_loader, test_loader)
    print(f"{'epoch':>5} {'train loss':>10} {'train acc':>9} {'test loss':>9} "
          f"{'test acc':>8} {'time':>7}")
    try:
        for epoch in range(start, args.epochs):
            t0 = time.perf_counter()
            log = []
            with tqdm(total=len(train_loader), desc=f"epoch {epoch + 1}/{args.epochs}",
                      unit="batch", leave=False, file=sys.stderr) as bar:
                tr_loss, tr_acc = train_epoch(model, train_loader, optimizer, criterion, bar,
                                              log, scheduler if per_batch else None, channels)
            if scheduler is not None and not per_batch:
                scheduler.step()
            te_loss, te_acc = evaluate(model, test_loader, criterion, channels)
            seconds = time.perf_counter() - t0
            history.append(dict(epoch=epoch + 1, train_loss=tr_loss, train_acc=tr_acc,
                                test_loss=te_loss, test_acc=te_acc, seconds=seconds))
            batches.append([list(pair) for pair in log])
            print(f"{epoch + 1:>5} {tr_loss:>10.4f} {tr_acc:>8.2f}% {te_loss:>9.4f} "
                  f"{te_acc:>7.2f}% {seconds:>6.1f}s", flush=True)
            save(dict(epoch=epoch + 1, model=model.state_dict(), settings=settings,
                      optimizer=optimizer.state_dict(), history=history, batches=batches,
                      scheduler=None if scheduler is None else scheduler.state_dict(),
                      rng=random.get_rng_state(), loader_rng=gen.get_state()), ckpt_path)
            if not args.no_plots:
                plot_curves(history, out / "curves.png", batches,
                            f"{settings['model']} on {settings['dataset']}")
                if conv is not None:
                    plot_filters(conv.weight.detach().numpy(), out / "filters.png")
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


def plot_curves(history, path, batches=None, title="SimpleCNN on MNIST"):
    """Loss and accuracy per batch (thin, train) and per epoch (markers, train and test),
    on an axis of epochs, written atomically."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    first = epochs[0] - 1 if epochs else 0
    for ax, key, col, label in ((a, "loss", 0, "cross-entropy loss"),
                                (b, "acc", 1, "accuracy (%)")):
        xs, ys = [], []
        for e, log in enumerate(batches or []):
            for k, pair in enumerate(log):
                xs.append(first + e + (k + 1) / len(log))
                ys.append(pair[col])
        if xs:
            ax.plot(xs, ys, "-", lw=0.6, alpha=0.45, color="tab:blue", label="train (batch)")
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", color="tab:blue",
                label="train (epoch)")
        ax.plot(epochs, [h[f"test_{key}"] for h in history], "s-", color="tab:orange",
                label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
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

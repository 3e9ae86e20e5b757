"""train --nproc N: the training loop of train.py on N ranks (processes started through
mpiexec), with DistributedDataParallel and a DistributedSampler's share of every batch.

--batch-size stays the images per optimizer step: each rank takes batch/N of them, and the
averaged gradient is that of the whole batch. Rank 0 alone prints, draws and writes the
checkpoint (atomically, as train does), with the model's own keys (no `module.` prefix), so
`--resume` continues it on any number of ranks. Ctrl-C stops every rank and leaves the last
complete checkpoint. `python -m tatamikomi train` comes here (cli.MAINS), and goes on to
train.main in one process unless --nproc N > 1; the ranks run
`python -m tatamikomi.tools.train_ddp` with the same options.
"""
import argparse
import os
import sys
import time
from pathlib import Path

from .. import distributed as dist
from .. import float64, manual_seed, nn, no_grad, random, tensor
from ..cli import UserError
from ..distributed import _mpi, run
from ..nn.parallel import DistributedDataParallel
from ..serialization import save
from ..utils.data import DataLoader, DistributedSampler, Subset
from . import train

RELAUNCHED = "TATAMIKOMI_TRAIN_RANKS"     # set for ranks whose parent reports the end


def in_rank():
    """Whether this process is one of several ranks an MPI launcher started."""
    size = os.environ.get("WORLD_SIZE") or os.environ.get("PMI_SIZE") or \
        os.environ.get("OMPI_COMM_WORLD_SIZE") or "1"
    return _mpi.launched_by_mpi() and int(size) > 1


def command_line(args):
    """train's options as given (those left unset stay unset), without --nproc."""
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    argv = []
    for action in p._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings or action.dest in ("help", "nproc") or value is None:
            continue
        if action.nargs == 0:                          # a flag such as --resume
            argv += [action.option_strings[0]] if value else []
        else:
            argv += [action.option_strings[0], str(value)]
    return argv


def relaunch(args):
    """Start args.nproc ranks running this loop; returns the launcher's exit status."""
    n = args.nproc
    try:
        run.mpiexec()
    except run.UsageError:
        raise UserError(f"--nproc {n}: training on {n} processes needs mpi4py and mpiexec: "
                        f"{_mpi.INSTALL}; or leave out --nproc") from None
    batch = args.batch_size or (None if args.resume else train.SETTINGS["batch_size"])
    if batch is not None and batch % n:
        raise UserError(f"--batch-size {batch}: {n} ranks cannot share it evenly; pass a "
                        f"multiple of {n} (each rank takes batch/{n} images a step)")
    cmd = [sys.executable, "-m", "tatamikomi.distributed.run", "--nproc-per-node", str(n),
           "-m", "tatamikomi.tools.train_ddp"] + command_line(args)
    code = run.call(cmd, dict(os.environ, **{RELAUNCHED: "1"}))  # Ctrl-C goes on, once
    if code == 130:                       # said here, once every rank has stopped
        path = Path(args.out) / "checkpoint.pt"
        done = train.read_checkpoint(path)["epoch"] if path.exists() else 0
        print(f"\ninterrupted: {path} holds epoch {done}; continue with --resume",
              file=sys.stderr, flush=True)
    return code


def _rank0_first(fn):
    """fn() on rank 0, then on the others: it may create files (links, temps, downloads)."""
    if dist.get_rank() == 0:
        out = fn()
    dist.barrier()
    if dist.get_rank() != 0:
        out = fn()
    return out


def loaders(args, settings, rank, world):
    """This rank's train loader (its DistributedSampler's share) and its share of the test set."""
    train_set, test_set = _rank0_first(lambda: train.datasets_for(args, settings))
    if args.limit_train:
        train_set = Subset(train_set, range(min(args.limit_train, len(train_set))))
    if args.limit_test:
        test_set = Subset(test_set, range(min(args.limit_test, len(test_set))))
    if settings["batch_size"] % world:
        raise UserError(f"--batch-size {settings['batch_size']}: {world} ranks cannot share "
                        f"it evenly; pass a multiple of {world}")
    sampler = DistributedSampler(train_set, seed=settings["seed"])
    workers = getattr(args, "workers", 0)
    train_loader = DataLoader(train_set, batch_size=settings["batch_size"] // world,
                              sampler=sampler, num_workers=workers,
                              persistent_workers=workers > 0)
    mine = Subset(test_set, range(rank, len(test_set), world))    # every image once
    return train_loader, DataLoader(mine, batch_size=args.test_batch_size), sampler


def _sum(*values):
    """The sums over the ranks of some numbers."""
    t = tensor([float(v) for v in values], dtype=float64)
    dist.all_reduce(t)
    return t.tolist()


def evaluate(model, loader, criterion, channels):
    """Loss and accuracy over every rank's share of the test set (the plain model: the ranks'
    shares may differ by a batch, and DDP's forward would pair collectives across them)."""
    model.eval()
    loss, correct, seen = 0.0, 0, 0
    with no_grad():
        for data, target in loader:
            output = model(train._fit_channels(data, channels))
            loss += criterion(output, target).item() * len(target)
            correct += int((output.array.argmax(1) == target.array).sum())
            seen += len(target)
    loss, correct, seen = _sum(loss, correct, seen)
    return loss / seen, 100.0 * correct / seen


def main(args):
    """train's main on the ranks; from a plain process, start them first."""
    if not in_rank():
        if args.nproc <= 1:
            return train.main(args)
        return relaunch(args)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if rank != 0:
        sys.stdout = open(os.devnull, "w")          # rank 0 alone reports progress
    tqdm, out, ckpt_path, ckpt = _rank0_first(lambda: train._start(args))
    settings = train.resolve_settings(args, ckpt)
    manual_seed(settings["seed"])
    train_loader, test_loader, sampler = loaders(args, settings, rank, world)
    model = train.build_model(settings, train.class_count(train_loader))
    conv = train.first_conv(model)
    channels = conv.in_channels if conv is not None else None
    optimizer = train.build_optimizer(model, settings)
    scheduler, per_batch = train.build_schedule(optimizer, settings, args.epochs,
                                                len(train_loader))
    gen = random.Generator().manual_seed(settings["seed"])   # checkpoints keep one, as train's
    criterion = nn.CrossEntropyLoss()
    history, start, batches = [], 0, []
    if ckpt is not None:
        history, start = train._restore(ckpt, ckpt_path, model, optimizer, gen, scheduler)
        batches = list(ckpt.get("batches") or [])
        print(f"resumed from {ckpt_path} after epoch {start}")
    ddp = DistributedDataParallel(model)
    _describe(model, settings, train_loader, world)
    print(f"{'epoch':>5} {'train loss':>10} {'train acc':>9} {'test loss':>9} "
          f"{'test acc':>8} {'time':>7}")
    try:
        for epoch in range(start, args.epochs):
            sampler.set_epoch(epoch)
            t0 = time.perf_counter()
            log = []
            with tqdm(total=len(train_loader), desc=f"epoch {epoch + 1}/{args.epochs}",
                      unit="batch", leave=False, file=sys.stderr, disable=rank != 0) as bar:
                tr_loss, tr_acc = train.train_epoch(ddp, train_loader, optimizer, criterion, bar,
                                                    log, scheduler if per_batch else None,
                                                    channels)
            tr_loss, tr_acc = (v / world for v in _sum(tr_loss, tr_acc))   # equal shares
            if scheduler is not None and not per_batch:
                scheduler.step()
            te_loss, te_acc = evaluate(model, test_loader, criterion, channels)
            seconds = time.perf_counter() - t0
            history.append(dict(epoch=epoch + 1, train_loss=tr_loss, train_acc=tr_acc,
                                test_loss=te_loss, test_acc=te_acc, seconds=seconds))
            batches.append([list(pair) for pair in log])
            print(f"{epoch + 1:>5} {tr_loss:>10.4f} {tr_acc:>8.2f}% {te_loss:>9.4f} "
                  f"{te_acc:>7.2f}% {seconds:>6.1f}s", flush=True)
            if rank == 0:
                _checkpoint(args, out, ckpt_path, epoch, model, settings, optimizer, history,
                            batches, scheduler, gen, conv)
    except KeyboardInterrupt:
        done = history[-1]["epoch"] if history else start
        if rank == 0 and RELAUNCHED not in os.environ:
            print(f"\ninterrupted: {ckpt_path} holds epoch {done}; continue with --resume",
                  file=sys.stderr, flush=True)
        return 130
    dist.barrier()
    print(f"checkpoint: {ckpt_path}" + ("" if args.no_plots else
                                         f"; plots: {out / 'curves.png'}, {out / 'filters.png'}"))
    dist.destroy_process_group()
    return 0


def _describe(model, settings, train_loader, world):
    print(f"{settings['model']} on {settings['dataset']}: "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; "
          f"{len(train_loader.sampler) * world:,} train images on {world} ranks, "
          f"{settings['batch_size'] // world} per rank a step; {settings['optimizer']} lr "
          f"{settings['lr']:g}, schedule {settings['schedule']}"
          + (", augmented" if settings["augment"] else ""))


def _checkpoint(args, out, path, epoch, model, settings, optimizer, history, batches,
                scheduler, gen, conv):
    """Rank 0's checkpoint (the plain model's keys: any number of ranks can resume it)."""
    save(dict(epoch=epoch + 1, model=model.state_dict(), settings=settings,
              optimizer=optimizer.state_dict(), history=history, batches=batches,
              scheduler=None if scheduler is None else scheduler.state_dict(),
              rng=random.get_rng_state(), loader_rng=gen.get_state()), path)
    if not args.no_plots:
        train.plot_curves(history, out / "curves.png", batches,
                          f"{settings['model']} on {settings['dataset']}")
        if conv is not None:
            train.plot_filters(conv.weight.detach().numpy(), out / "filters.png")


def _main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tatamikomi.tools.train_ddp",
                                description=__doc__)
    train.add_arguments(p)
    args = p.parse_args(argv)
    try:
        return main(args)
    except UserError as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_main())

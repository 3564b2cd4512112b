"""tools/bench/allreduce_torch.py — NCCL all-reduce, reduce-scatter and all-gather bandwidth through
PyTorch on every visible GPU (one process each), for comparison with Krait's data-parallel overhead.
Prints, per size, the median time of 20 after 5 warm-ups and the bus bandwidth NCCL's tests report:
all-reduce 2(n-1)/n x bytes / time, reduce-scatter and all-gather (n-1)/n x bytes / time."""
import os
import statistics
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

SIZES_MB = [int(s) for s in os.environ.get("SIZES_MB", "16,154,516").split(",")]


def timed(fn, reps=20, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def worker(rank, world, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world, device_id=torch.device("cuda", rank))
    for mb in SIZES_MB:
        n = mb * (1 << 20) // 4 // world * world
        x = torch.randn(n, device="cuda")
        shard = torch.empty(n // world, device="cuda")
        results = {
            "all_reduce": (timed(lambda: dist.all_reduce(x)), 2 * (world - 1) / world),
            "reduce_scatter": (timed(lambda: dist.reduce_scatter_tensor(shard, x)), (world - 1) / world),
            "all_gather": (timed(lambda: dist.all_gather_into_tensor(x, shard)), (world - 1) / world),
        }
        if rank == 0:
            line = ", ".join(f"{k} {ms:.2f} ms ({f * n * 4 / ms / 1e6:.0f} GB/s bus)" for k, (ms, f) in results.items())
            print(f"{world} GPUs, {n * 4 / 2**20:.0f} MiB f32: {line}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    world = torch.cuda.device_count()
    if world < 2:
        sys.exit("allreduce_torch.py: needs at least 2 GPUs")
    mp.spawn(worker, args=(world, 29400 + os.getpid() % 500), nprocs=world)

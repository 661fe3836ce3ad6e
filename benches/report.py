"""Turns one benchmark run into the tables and the plot of docs/performance.md.

Usage, after one `cargo bench` run (NumPy's figures are measured inside it):
  python3 benches/report.py target/criterion full docs/performance.png

Prints Markdown tables of medians and ratios (with the issue's floors) and
draws a bar chart of the ratios (needs matplotlib only for the plot).
"""
import json
import sys
from pathlib import Path


def load_criterion(root):
    out = {}
    for est in Path(root).glob("**/new/estimates.json"):
        key = "/".join(est.parent.parent.relative_to(root).parts)
        out[key] = json.loads(est.read_text())["median"]["point_estimate"] * 1e-9
    return out


def fmt_time(s):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


def main():
    crit = load_criterion(sys.argv[1])
    size = sys.argv[2]
    plot = sys.argv[3] if len(sys.argv) > 3 else None
    nbytes = {"smoke": 4 << 20, "full": 2 << 30}.get(size, 256 << 20)
    gb = nbytes / 1e9
    c = lambda k: crit[k]
    import numpy as np
    numpy = {
        "open_memmap_large": c(f"open/numpy_memmap/{size}"),
        "open_load_mmap_large": c(f"open/numpy_load_mmap/{size}"),
        "hot_sum_fresh_memmap": c("hot_sum/numpy_hot_sum_fresh_memmap"),
        "hot_sum_open_memmap": c("hot_sum/numpy_hot_sum_open_memmap"),
        "cold_sum_memmap": c("cold_sum/numpy_memmap"),
        "cold_one_element": c("partial/numpy_cold_one_element_load_mmap"),
        "cold_one_element_raw": c("partial/numpy_cold_one_element_memmap"),
        "hot_one_row": c("partial/numpy_hot_one_row"),
        "hot_1000_rows": c("partial/numpy_hot_1000_rows"),
        "write_create_fill_flush": c("write/numpy_create_fill_flush"),
        "bytes": nbytes,
    }
    print(f"## Medians ({size}: {nbytes >> 20} MiB of f64; numpy {np.__version__})\n")
    print("| benchmark | median | throughput |")
    print("| --- | --- | --- |")
    for key in sorted(crit):
        tp = ""
        if key.startswith(("hot_sum", "cold_sum", "parallel")):
            tp = f"{gb / crit[key]:.2f} GB/s"
        print(f"| `{key}` | {fmt_time(crit[key])} | {tp} |")

    best_cold = "guard_background"  # Populate::Background: the whole-pass setting
    rows = [
        ("open (Background) + first hot sum vs in-memory sum", c("hot_sum/in_memory") / c("hot_sum/fresh_guard_background"), ">= 0.9"),
        ("open (default) + first hot sum vs in-memory sum", c("hot_sum/in_memory") / c("hot_sum/fresh_guard"), ""),
        ("sum over an open guard vs in-memory sum", c("hot_sum/in_memory") / c("hot_sum/open_guard"), ">= 0.95"),
        ("open (Background) + hot sum vs `np.memmap(...).sum()`", numpy["hot_sum_fresh_memmap"] / c("hot_sum/fresh_guard_background"), ">= 1.5"),
        ("open (default) + hot sum vs `np.memmap(...).sum()`", numpy["hot_sum_fresh_memmap"] / c("hot_sum/fresh_guard"), ""),
        ("sum over an open guard vs numpy sum over an open memmap", numpy["hot_sum_open_memmap"] / c("hot_sum/open_guard"), ""),
        ("in-memory sum: ndarray vs NumPy", c("hot_sum/numpy_hot_sum_in_memory") / c("hot_sum/in_memory"), "(the limit for the line above)"),
        ("cold one element: numpy `np.load(mmap_mode='r')` / ours (`.npy`, Random)", numpy["cold_one_element"] / c("partial/cold_one_element_guard_random"), ""),
        ("cold one element: numpy raw `np.memmap` / ours (raw, Random)", numpy["cold_one_element_raw"] / c("partial/cold_one_element_raw_guard_random"), ""),
        ("hot one row: numpy / ours", numpy["hot_one_row"] / c("partial/hot_one_row_guard"), ""),
        ("hot 1000 random rows: numpy / ours", numpy["hot_1000_rows"] / c("partial/hot_1000_rows_guard"), ""),
        ("open + hot sum vs `std::fs::read` + sum", c("hot_sum/fs_read_then_sum") / c("hot_sum/fresh_guard"), ""),
        ("naive `iter().sum()` vs ndarray `sum()` on the guard", c("hot_sum/open_guard") / c("hot_sum/naive_iter_sum"), "(shows the cost)"),
        (f"cold sum ({best_cold}) vs chunked `read()` + sum", c("cold_sum/read_chunks") / c(f"cold_sum/{best_cold}"), ">= 1.0"),
        (f"cold sum ({best_cold}) vs `np.memmap` cold sum", numpy["cold_sum_memmap"] / c(f"cold_sum/{best_cold}"), ">= 1.2"),
        ("cold sum (`chunks().prefetch(true)`) vs chunked `read()` + sum", c("cold_sum/read_chunks") / c("cold_sum/guard_chunks_prefetch"), ""),
        ("cold sum (`chunks().prefetch(true)`) vs `np.memmap` cold sum", numpy["cold_sum_memmap"] / c("cold_sum/guard_chunks_prefetch"), ""),
        ("cold sum (default guard) vs `np.memmap` cold sum", numpy["cold_sum_memmap"] / c("cold_sum/guard_no_hint"), ""),
        (f"cold sum ({best_cold}) vs `ndarray_npy::read_npy` + sum", c("cold_sum/ndarray_npy_read") / c(f"cold_sum/{best_cold}"), ""),
        (f"cold sum ({best_cold}) vs `std::fs::read` + sum", c("cold_sum/fs_read") / c(f"cold_sum/{best_cold}"), ""),
        ("cold one element: raw guard (Random) latency / `pread` latency", c("partial/cold_one_element_raw_guard_random") / c("partial/cold_one_element_pread"), "<= 2"),
        ("cold one element: `.npy` guard (Random; reads the header too) / `pread`", c("partial/cold_one_element_guard_random") / c("partial/cold_one_element_pread"), ""),
        ("cold one element: guard (no hint) latency / `pread` latency", c("partial/cold_one_element_guard_default") / c("partial/cold_one_element_pread"), ""),
        ("hot one row vs reading the file whole", c("partial/hot_one_row_read_whole_file") / c("partial/hot_one_row_guard"), ">= 10000"),
        ("hot 1000 random rows: guard vs `pread`", c("partial/hot_1000_rows_pread") / c("partial/hot_1000_rows_guard"), ""),
        ("cold 1000 random rows: guard (Random) vs `pread`", c("partial/cold_1000_rows_pread") / c("partial/cold_1000_rows_guard_random"), ""),
        ("open: large file time / 1 MiB file time", c(f"open/open_npy/{size}") / c("open/open_npy/1MiB"), "<= 2"),
        ("open `.npy`: numpy `np.load(mmap_mode='r')` / ours", numpy["open_load_mmap_large"] / c(f"open/open_npy/{size}"), "> 1"),
        ("open raw: numpy `np.memmap` / ours", numpy["open_memmap_large"] / c(f"open/open_raw/{size}"), "> 1"),
        ("create + fill + `close_async` (Background) vs `fs::write` (neither waits for the disk)", c("write/std_fs_write_no_sync") / c("write/create_fill_close_async_background"), ">= 1.2"),
        ("create + fill + flush (Background) vs `fs::write` + sync (both durable)", c("write/std_fs_write_then_sync") / c("write/create_fill_flush_background"), ">= 1.2"),
        ("create + fill + `close_async` (default) vs `fs::write`", c("write/std_fs_write_no_sync") / c("write/create_fill_close_async"), ""),
        ("create + fill + `close_async` (Background) vs compute in memory + `fs::write`", c("write/compute_then_std_fs_write") / c("write/create_fill_close_async_background"), ""),
        ("create + fill + flush (default) vs `fs::write` + sync", c("write/std_fs_write_then_sync") / c("write/create_fill_flush_preallocated"), ""),
        ("create + fill + flush (sparse) vs `fs::write` + sync", c("write/std_fs_write_then_sync") / c("write/create_fill_flush_sparse"), ""),
        ("create + fill + flush vs numpy `w+` fill + flush", numpy["write_create_fill_flush"] / c("write/create_fill_flush_preallocated"), ""),
    ]
    if "parallel/ln_1p_all_cores" in crit:
        rows += [
            ("compute-bound `ln_1p` map-reduce: 2 cores vs 1", c("parallel/ln_1p_1_core") / c("parallel/ln_1p_all_cores"), ">= 1.7"),
            ("memory-bound sum: 2 cores vs 1", c("parallel/sum_1_core") / c("parallel/sum_all_cores"), ""),
        ]
    for order in ("C", "F"):
        rows.append((f"{order}-order map: row sums vs column sums (speed ratio)", c(f"layout/column_sums/{order}") / c(f"layout/row_sums/{order}"), ""))
    for hint in ("guard_background", "guard_sequential", "guard_willneed", "guard_chunks_sequential", "guard_chunks_prefetch"):
        base = "cold_sum/guard_chunks" if "chunks" in hint else "cold_sum/guard_no_hint"
        rows.append((f"cold sum: `{hint}` vs `{base.split('/')[1]}`", c(base) / c(f"cold_sum/{hint}"), "(hint's effect)"))
    rows.append(("hot open + sum: `Populate::AtOpen` vs default", c("hot_sum/fresh_guard") / c("hot_sum/fresh_guard_populate"), "(hint's effect)"))
    rows.append(("hot open + sum: `Populate::Background` vs default", c("hot_sum/fresh_guard") / c("hot_sum/fresh_guard_background"), "(hint's effect)"))
    rows.append(("write: `Populate::Background` vs default (flush)", c("write/create_fill_flush_preallocated") / c("write/create_fill_flush_background"), "(hint's effect)"))
    inter_rows = []
    inter_path = Path(sys.argv[1]) / "interleaved.json"
    if inter_path.exists():
        inter = json.loads(inter_path.read_text())
        print("\n## Interleaved (each round runs every variant once; medians)\n")
        print("| variant | median | throughput |")
        print("| --- | --- | --- |")
        for key, value in inter.items():
            moved = min(nbytes, 1 << 30) / 1e9 if key.startswith("write/") else gb
            print(f"| `{key}` | {fmt_time(value)} | {moved / value:.2f} GB/s |")
        i = inter.get
        pairs = [
            ("cold: guard (Background) vs chunked `read()`", "cold/read_chunks", "cold/guard_background", ">= 1.0"),
            ("cold: guard (Background) vs `np.memmap`", "cold/numpy_memmap", "cold/guard_background", ">= 1.2"),
            ("cold: `chunks().prefetch(true)` vs chunked `read()`", "cold/read_chunks", "cold/guard_chunks_prefetch", ""),
            ("cold: `chunks().prefetch(true)` vs `np.memmap`", "cold/numpy_memmap", "cold/guard_chunks_prefetch", ""),
            ("cold: guard (no hint) vs chunked `read()`", "cold/read_chunks", "cold/guard_no_hint", ""),
            ("cold: guard (no hint) vs `np.memmap`", "cold/numpy_memmap", "cold/guard_no_hint", ""),
            ("cold: `chunks()` vs chunked `read()`", "cold/read_chunks", "cold/guard_chunks", ""),
            ("cold: guard (WillNeed) vs chunked `read()`", "cold/read_chunks", "cold/guard_willneed", ""),
            ("hot: open (Background) + sum vs in-memory sum", "hot/in_memory", "hot/fresh_guard_background", ">= 0.9"),
            ("hot: open (Background) + sum vs `np.memmap(...).sum()`", "hot/numpy_fresh_memmap", "hot/fresh_guard_background", ">= 1.5"),
            ("hot: open + sum vs in-memory sum", "hot/in_memory", "hot/fresh_guard", ""),
            ("hot: open (populate) + sum vs in-memory sum", "hot/in_memory", "hot/fresh_guard_populate", ""),
            ("hot: open + sum vs `np.memmap(...).sum()`", "hot/numpy_fresh_memmap", "hot/fresh_guard", ""),
            ("write: create + fill + `close_async` (Background) vs `fs::write` of ready bytes", "write/std_fs_write_no_sync", "write/create_fill_close_async_background", ">= 1.2"),
            ("write: create + fill + `close_async` (Background) vs compute in memory + `fs::write`", "write/compute_then_std_fs_write", "write/create_fill_close_async_background", ""),
            ("write: create + fill + `close_async` (default) vs `fs::write` of ready bytes", "write/std_fs_write_no_sync", "write/create_fill_close_async", ""),
            ("write: create + fill + `close_async` (default) vs compute in memory + `fs::write`", "write/compute_then_std_fs_write", "write/create_fill_close_async", ""),
            ("hot: open (populate) + sum vs `np.memmap(...).sum()`", "hot/numpy_fresh_memmap", "hot/fresh_guard_populate", ""),
        ]
        print("\n| comparison (interleaved) | ratio | floor |")
        print("| --- | --- | --- |")
        for name, theirs, ours, floor in pairs:
            if i(theirs) and i(ours):
                print(f"| {name} | {i(theirs) / i(ours):.3g}x | {floor} |")
                inter_rows.append((name + " (interleaved)", i(theirs) / i(ours)))
    print("\n## Ratios (> 1 means ours is faster, except where the floor says <=)\n")
    print("| comparison | ratio | floor |")
    print("| --- | --- | --- |")
    for name, ratio, floor in rows:
        print(f"| {name} | {ratio:.3g}x | {floor} |")
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        shown = [(n, r, "#dd8452") for n, r in inter_rows if 0 < r < 100]
        shown += [(n, r, "#4c72b0") for n, r, _ in rows if 0 < r < 100]
        fig, ax = plt.subplots(figsize=(10, 0.38 * len(shown) + 1))
        ax.barh([n.replace("`", "") for n, _, _ in shown][::-1], [r for _, r, _ in shown][::-1],
                color=[c for _, _, c in shown][::-1])
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("ratio (log scale)")
        ax.set_title(f"ratios ({nbytes >> 20} MiB of f64); > 1: ours faster\norange: interleaved rounds; blue: criterion groups",
                     fontsize=9)
        fig.tight_layout()
        fig.savefig(plot, dpi=110)


if __name__ == "__main__":
    main()

//! int8 kernels against matrixmultiply's f32 `sgemm` on the dense shapes of
//! the full SCYTH-5 network (linker 1024→512, head 512→11883) and of the
//! livedoor model (linker 256→512, head 512→9), over batches of 1, 16 and
//! 64 documents; and the sparse encoder gather (int8 kernels against the
//! same gather in f32). Every timed result is checked against the portable
//! kernel (and sgemm, run on the same integer codes, must give the same
//! integers: all sums stay below 2^24), so a fast wrong answer fails.
//!
//! `cargo bench --bench kernels` (`-- --quick` for a shorter run).

use std::hint::black_box;
use std::time::{Duration, Instant};

use scyth::quant::{DenseInt8, Int8Kernel, PackedInt8, ScalarKernel, available_kernels};

/// A deterministic stream of pseudo-random numbers (xorshift).
fn stream(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Seconds per call of `f`: the best of 3 runs of as many calls as fill `budget`.
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < budget / 3 {
            f();
            calls += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / calls as f64);
    }
    best
}

fn checksum(v: &[i32]) -> u64 {
    v.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ x as u32 as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 60 } else { 300 });
    let kernels = available_kernels();
    println!(
        "kernels: {}",
        kernels
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    println!("dense GEMM, GOP/s (2·batch·n·k operations per call; × = best int8 / sgemm)");
    println!();
    let mut header = "| layer (k→n) | batch | sgemm f32 |".to_string();
    for k in &kernels {
        header += &format!(" {} |", k.name());
    }
    header += " best int8 / sgemm |";
    println!("{header}");
    println!("|{}", "---|".repeat(kernels.len() + 4));
    let shapes = [
        ("SCYTH-5 linker", 1024usize, 512usize),
        ("SCYTH-5 head", 512, 11883),
        ("livedoor linker", 256, 512),
        ("livedoor head", 512, 9),
    ];
    let mut next = stream(42);
    for (name, k, n) in shapes {
        let w: Vec<i8> = (0..n * k).map(|_| next() as u8 as i8).collect();
        let packed = PackedInt8::pack(&w, n, k);
        let dense = DenseInt8 {
            w: &w,
            packed: &packed,
        };
        let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        for batch in [1usize, 16, 64] {
            let x: Vec<u8> = (0..batch * packed.k4)
                .map(|_| (next() % 128) as u8)
                .collect();
            let xf: Vec<f32> = (0..batch)
                .flat_map(|b| {
                    x[b * packed.k4..b * packed.k4 + k]
                        .iter()
                        .map(|&v| v as f32)
                })
                .collect();
            let mut want = vec![0i32; batch * n];
            ScalarKernel.gemm(&x, batch, dense, &mut want);
            let ops = 2.0 * (batch * n * k) as f64;
            // sgemm: C[batch][n] = X[batch][k] · Wᵀ (W is [n][k] row-major).
            let mut cf = vec![0f32; batch * n];
            let t = time_per_call(budget, || unsafe {
                matrixmultiply::sgemm(
                    batch,
                    k,
                    n,
                    1.0,
                    xf.as_ptr(),
                    k as isize,
                    1,
                    wf.as_ptr(),
                    1,
                    k as isize,
                    0.0,
                    cf.as_mut_ptr(),
                    n as isize,
                    1,
                );
                black_box(&cf);
            });
            let as_int: Vec<i32> = cf.iter().map(|&v| v as i32).collect();
            assert_eq!(
                checksum(&as_int),
                checksum(&want),
                "sgemm disagrees on {name} batch {batch}"
            );
            let sgemm = ops / t / 1e9;
            let mut row = format!("| {name} ({k}→{n}) | {batch} | {sgemm:.1} |");
            let mut best = 0.0f64;
            for kern in &kernels {
                let mut out = vec![0i32; batch * n];
                let t = time_per_call(budget, || {
                    kern.gemm(black_box(&x), batch, dense, &mut out);
                    black_box(&out);
                });
                assert_eq!(
                    checksum(&out),
                    checksum(&want),
                    "kernel {} is wrong on {name} batch {batch}",
                    kern.name()
                );
                let g = ops / t / 1e9;
                best = best.max(g);
                row += &format!(" {g:.1} |");
            }
            row += &format!(" {:.2}× |", best / sgemm);
            println!("{row}");
        }
    }

    println!();
    println!(
        "sparse encoder gather, GOP/s (2·active·width per document; 1,500 active rows of a 200,000-row matrix)"
    );
    println!();
    let mut header = "| width | f32 gather |".to_string();
    for k in &kernels {
        header += &format!(" {} |", k.name());
    }
    println!("{header}");
    println!("|{}", "---|".repeat(kernels.len() + 2));
    for width in [256usize, 1024] {
        let d = if width > 512 { 50_000 } else { 200_000 };
        let rows: Vec<i8> = (0..d * width).map(|_| next() as u8 as i8).collect();
        let rows_f: Vec<f32> = rows.iter().map(|&v| v as f32 * 0.01).collect();
        let docs: Vec<(Vec<u32>, Vec<i32>)> = (0..16)
            .map(|_| {
                let mut cols: Vec<u32> = (0..1500).map(|_| (next() % d as u64) as u32).collect();
                cols.sort_unstable();
                let codes = cols.iter().map(|_| (next() % 128) as i32).collect();
                (cols, codes)
            })
            .collect();
        let ops = 2.0 * 1500.0 * width as f64;
        let mut accf = vec![0f32; width];
        let t = time_per_call(budget, || {
            for (cols, codes) in &docs {
                accf.iter_mut().for_each(|a| *a = 0.0);
                for (&c, &v) in cols.iter().zip(codes) {
                    let r = &rows_f[c as usize * width..(c as usize + 1) * width];
                    for (a, &w) in accf.iter_mut().zip(r) {
                        *a += v as f32 * w;
                    }
                }
                black_box(&accf);
            }
        }) / docs.len() as f64;
        let mut row = format!("| {width} | {:.1} |", ops / t / 1e9);
        let want: Vec<u64> = docs
            .iter()
            .map(|(cols, codes)| {
                let mut acc = vec![0i32; width];
                ScalarKernel.sparse_accumulate(&rows, width, cols, codes, &mut acc);
                checksum(&acc)
            })
            .collect();
        for kern in &kernels {
            let mut acc = vec![0i32; width];
            let mut sums = Vec::new();
            let t = time_per_call(budget, || {
                sums.clear();
                for (cols, codes) in &docs {
                    acc.iter_mut().for_each(|a| *a = 0);
                    kern.sparse_accumulate(&rows, width, cols, codes, &mut acc);
                    sums.push(checksum(&acc));
                }
            }) / docs.len() as f64;
            assert_eq!(
                sums,
                want,
                "kernel {} is wrong on the sparse gather (width {width})",
                kern.name()
            );
            row += &format!(" {:.1} |", ops / t / 1e9);
        }
        println!("{row}");
    }
}

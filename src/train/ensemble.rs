//! Exact ensembling of linear networks: K members (same input columns) are
//! one SPEC network with the encoders side by side, the linkers on the block
//! diagonal and the heads side by side scaled by 1/K, so that
//! `logits = mean_k(e_k · W_head_k) + mean_k(b_k)` — the mean of the
//! members' logits — and the embedding is the concatenation of the members'
//! linker outputs.

use crate::network::Shape;
use crate::train::member::Snapshot;

/// Combined `(encoder, linker, head, bias, shape)` of members of `member`
/// shape (layouts as in [`crate::network::F32Weights`]).
pub fn combine(
    members: &[Snapshot],
    member: Shape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>, Shape) {
    let k = members.len().max(1);
    if k == 1 {
        let m = &members[0];
        return (
            m.enc.clone(),
            m.link.clone(),
            m.head.clone(),
            m.bias.clone(),
            member,
        );
    }
    let Shape { d, h, e, c } = member;
    let shape = Shape {
        d,
        h: h * k,
        e: e * k,
        c,
    };
    // Encoder [D][K·H]: member m's row in columns m·H..(m+1)·H.
    let mut enc = vec![0.0f32; d * shape.h];
    for (row, out) in enc.chunks_exact_mut(shape.h).enumerate() {
        for (m, snap) in members.iter().enumerate() {
            out[m * h..(m + 1) * h].copy_from_slice(&snap.enc[row * h..(row + 1) * h]);
        }
    }
    // Linker [K·E][K·H], block diagonal.
    let mut link = vec![0.0f32; shape.e * shape.h];
    for (m, snap) in members.iter().enumerate() {
        for r in 0..e {
            let out_row = m * e + r;
            link[out_row * shape.h + m * h..out_row * shape.h + (m + 1) * h]
                .copy_from_slice(&snap.link[r * h..(r + 1) * h]);
        }
    }
    // Head [C][K·E]: member heads side by side, scaled by 1/K.
    let scale = 1.0 / k as f32;
    let mut head = vec![0.0f32; c * shape.e];
    for cat in 0..c {
        for (m, snap) in members.iter().enumerate() {
            for j in 0..e {
                head[cat * shape.e + m * e + j] = snap.head[cat * e + j] * scale;
            }
        }
    }
    let bias = (0..c)
        .map(|cat| members.iter().map(|m| m.bias[cat]).sum::<f32>() * scale)
        .collect();
    (enc, link, head, bias, shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::SparseRow;
    use crate::network::F32Weights;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_snapshot(rng: &mut ChaCha8Rng, s: Shape) -> Snapshot {
        let mut v = |n: usize| {
            (0..n)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect::<Vec<_>>()
        };
        Snapshot {
            epoch: 1,
            score: 0.0,
            enc: v(s.d * s.h),
            link: v(s.e * s.h),
            head: v(s.c * s.e),
            bias: v(s.c),
        }
    }

    fn weights(
        enc: Vec<f32>,
        link: Vec<f32>,
        head: Vec<f32>,
        bias: Vec<f32>,
        shape: Shape,
    ) -> F32Weights {
        F32Weights {
            shape,
            enc: enc.into(),
            link: link.into(),
            head: head.into(),
            bias: bias.into(),
        }
    }

    #[test]
    fn combined_logits_are_the_mean_of_member_logits_3_members() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let member = Shape {
            d: 20,
            h: 6,
            e: 4,
            c: 5,
        };
        let members: Vec<Snapshot> = (0..3).map(|_| random_snapshot(&mut rng, member)).collect();
        let (enc, link, head, bias, shape) = combine(&members, member);
        assert_eq!(
            shape,
            Shape {
                d: 20,
                h: 18,
                e: 12,
                c: 5
            }
        );
        let combined = weights(enc, link, head, bias, shape);
        let row = SparseRow {
            cols: vec![1, 4, 7, 19],
            vals: vec![1.0, 0.5, 1.0, 0.07],
        };
        let got = combined.forward(&[&row]);
        let mut want = vec![0.0f32; 5];
        for m in &members {
            let w = weights(
                m.enc.clone(),
                m.link.clone(),
                m.head.clone(),
                m.bias.clone(),
                member,
            );
            let out = w.forward(&[&row]);
            for (acc, l) in want.iter_mut().zip(out.logits.row(0)) {
                *acc += l / 3.0;
            }
        }
        for (g, w) in got.logits.row(0).iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
    }

    #[test]
    fn one_member_is_returned_unchanged() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let member = Shape {
            d: 5,
            h: 3,
            e: 2,
            c: 2,
        };
        let snap = random_snapshot(&mut rng, member);
        let (enc, _, head, _, shape) = combine(std::slice::from_ref(&snap), member);
        assert_eq!(
            (enc, head, shape),
            (snap.enc.clone(), snap.head.clone(), member)
        );
    }
}

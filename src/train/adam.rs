//! Adam, dense for the small layers and lazy (only the rows a batch touched)
//! for the encoder, whose rows are the input columns.

/// Adam hyper-parameters and the global step count.
#[derive(Debug, Clone, Copy)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator guard.
    pub eps: f32,
    /// Steps taken (for bias correction).
    pub step: u32,
}

impl Adam {
    /// Adam with the usual decays.
    pub fn new(lr: f32) -> Adam {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
        }
    }

    /// Bias-corrected step size of the current step.
    fn step_size(&self) -> (f32, f32) {
        let t = self.step.max(1) as i32;
        let c1 = 1.0 - self.beta1.powi(t);
        let c2 = 1.0 - self.beta2.powi(t);
        (self.lr / c1, c2.sqrt())
    }

    /// Updates `w` from gradient `g` with moments `m`, `v` (same lengths).
    pub fn update(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let (alpha, c2_sqrt) = self.step_size();
        for i in 0..w.len() {
            m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g[i];
            v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g[i] * g[i];
            w[i] -= alpha * m[i] / (v[i].sqrt() / c2_sqrt + self.eps);
        }
    }
}

/// Parameters with their Adam moments.
#[derive(Debug, Clone)]
pub struct Param {
    /// Weights.
    pub w: Vec<f32>,
    /// First moments.
    pub m: Vec<f32>,
    /// Second moments.
    pub v: Vec<f32>,
}

impl Param {
    /// Wraps initial weights with zero moments.
    pub fn new(w: Vec<f32>) -> Param {
        let n = w.len();
        Param {
            w,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
}

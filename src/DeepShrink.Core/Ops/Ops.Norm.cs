namespace DeepShrink.Core;

// STUB: signatures fixed; implementation owned by the conv/pool kernel work.
public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over axis 1 of x [N, C] or [N, C, H, W]. In training, normalises with batch
    /// statistics and updates the running buffers in place (running = (1-momentum) running + momentum batch,
    /// unbiased variance); in eval, uses the running buffers.
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, bool training, float momentum = 0.1f, float eps = 1e-5f)
        => throw new NotImplementedException("BatchNorm");
}

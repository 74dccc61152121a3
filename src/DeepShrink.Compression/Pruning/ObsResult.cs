namespace DeepShrink.Compression.Pruning;

/// <summary>A layer pruned by <see cref="OptimalBrainSurgeon"/>.</summary>
/// <param name="Sparsity">Requested fraction of removed weights.</param>
/// <param name="Weights">Updated weights [rows, cols], zero where pruned.</param>
/// <param name="Mask">1 keeps, 0 prunes [rows, cols].</param>
/// <param name="Loss">
/// Predicted increase of the layer-wise error E = 1/n sum_i ||(W - W0) x_i||^2 (sum over rows of the
/// OBS step losses w_q^2 / (2 [H^-1]_qq)); exact for the damped quadratic model.
/// </param>
public sealed record ObsResult(double Sparsity, float[] Weights, float[] Mask, double Loss);

namespace DeepShrink.Compression.Pruning;

/// <summary>Which weights <see cref="OneShotPruner"/> removes.</summary>
public enum OneShotCriterion
{
    /// <summary>Smallest |w| (Han et al. 2015).</summary>
    Magnitude,
    /// <summary>Optimal Brain Damage with the empirical Fisher diagonal: smallest 1/2 F_qq w_q^2.</summary>
    ObdFisher,
    /// <summary>Optimal Brain Damage with the layer-wise Hessian diagonal: smallest 1/2 (2 E[x_j^2]) w_qj^2.</summary>
    ObdLayerwise,
    /// <summary>Layer-wise Optimal Brain Surgeon (OBC): greedy removal with the surviving weights re-fitted.</summary>
    Obs,
}

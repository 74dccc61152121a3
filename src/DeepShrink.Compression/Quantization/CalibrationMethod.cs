namespace DeepShrink.Compression.Quantization;

/// <summary>How the real range of a tensor is chosen before linear quantisation.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed minimum and maximum (no clipping).</summary>
    MinMax,
    /// <summary>The p-th and (100-p)-th percentiles: rare outliers are clipped.</summary>
    Percentile,
    /// <summary>The clipping range that minimises the mean squared quantisation error.</summary>
    Mse,
}

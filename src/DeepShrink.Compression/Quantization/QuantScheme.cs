namespace DeepShrink.Compression.Quantization;

/// <summary>A linear quantisation scheme for one kind of tensor (weights or activations).</summary>
/// <param name="Bits">Code width, 2..8 (codes are stored as int8).</param>
/// <param name="Symmetric">Zero point 0 and a code range symmetric around it.</param>
/// <param name="PerChannel">One scale (and zero point) per output channel (axis 0) instead of per tensor.</param>
/// <param name="Method">How the range is calibrated.</param>
/// <param name="Percentile">Upper percentile for <see cref="CalibrationMethod.Percentile"/> (e.g. 99.99).</param>
public sealed record QuantScheme(int Bits = 8, bool Symmetric = true, bool PerChannel = true,
    CalibrationMethod Method = CalibrationMethod.MinMax, double Percentile = 99.99)
{
    /// <summary>Throws on out-of-range settings.</summary>
    public QuantScheme Validate()
    {
        QuantParams.CodeRange(Bits, Symmetric);
        if (Percentile <= 50 || Percentile > 100) throw new ArgumentOutOfRangeException(nameof(Percentile), $"percentile must be in (50, 100], got {Percentile}");
        return this;
    }
}

using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;

namespace DeepShrink.Data;

/// <summary>
/// Per-channel input normalisation <c>x' = (x - mean[c]) / std[c]</c>, applied to pixels already
/// scaled to [0, 1] (byte / 255). Immutable.
/// </summary>
/// <remarks>
/// Defaults: Fashion-MNIST mean 0.2860, std 0.3530 and MNIST mean 0.1307, std 0.3081, the usual
/// training-set statistics of the [0, 1]-scaled pixels. <see cref="FromPixels"/> computes the
/// statistics from raw bytes in one vectorised pass.
/// </remarks>
public sealed class Normalization
{
    private readonly float[] _mean, _std;

    /// <summary>Per-channel means (one entry applies to every channel).</summary>
    public IReadOnlyList<float> Mean => _mean;
    /// <summary>Per-channel standard deviations (one entry applies to every channel).</summary>
    public IReadOnlyList<float> Std => _std;

    /// <summary>Single-value normalisation applied to every channel.</summary>
    public Normalization(float mean, float std) : this(new[] { mean }, new[] { std }) { }

    /// <summary>Per-channel normalisation; both arrays have one entry per channel (or one in total).</summary>
    /// <exception cref="ArgumentException">Lengths differ, are zero, or a value is not finite / std is not positive.</exception>
    public Normalization(ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"mean and std need the same non-zero length (got {mean.Length} and {std.Length})");
        for (int i = 0; i < mean.Length; i++)
        {
            if (!float.IsFinite(mean[i])) throw new ArgumentException($"mean[{i}] = {mean[i]} is not finite", nameof(mean));
            if (!(std[i] > 0) || !float.IsFinite(std[i])) throw new ArgumentException($"std[{i}] = {std[i]} must be positive and finite", nameof(std));
        }
        _mean = mean.ToArray(); _std = std.ToArray();
    }

    /// <summary>Fashion-MNIST training-set statistics: mean 0.2860, std 0.3530.</summary>
    public static Normalization FashionMnist { get; } = new(0.2860f, 0.3530f);
    /// <summary>MNIST training-set statistics: mean 0.1307, std 0.3081.</summary>
    public static Normalization Mnist { get; } = new(0.1307f, 0.3081f);
    /// <summary>No shift or scaling: values stay in [0, 1].</summary>
    public static Normalization Identity { get; } = new(0f, 1f);

    /// <summary>Mean of channel <paramref name="c"/>.</summary>
    public float MeanOf(int c) => _mean.Length == 1 ? _mean[0] : _mean[c];
    /// <summary>Standard deviation of channel <paramref name="c"/>.</summary>
    public float StdOf(int c) => _std.Length == 1 ? _std[0] : _std[c];

    /// <summary>Throws unless this normalisation can apply to <paramref name="channels"/> channels.</summary>
    public void CheckChannels(int channels)
    {
        if (_mean.Length != 1 && _mean.Length != channels)
            throw new ArgumentException($"normalisation has {_mean.Length} channels but the data has {channels}");
    }

    /// <summary>
    /// Lookup table from a byte to its normalised value for channel <paramref name="c"/>:
    /// <c>(b / 255 - mean) / std</c>, evaluated in float exactly as an element-wise pass would.
    /// </summary>
    public float[] ByteTable(int c)
    {
        float m = MeanOf(c), s = StdOf(c);
        var t = new float[256];
        for (int b = 0; b < 256; b++) t[b] = (b / 255f - m) / s;
        return t;
    }

    /// <summary>Per-channel mean and std of [0, 1]-scaled bytes laid out as [N, C, plane].</summary>
    /// <remarks>Partial sums are taken per (sample, channel) slice in float and accumulated in
    /// double, so the result is accurate to float precision.</remarks>
    /// <param name="pixels">[N, channels, plane] bytes.</param>
    /// <param name="channels">Number of channels C.</param>
    /// <param name="plane">Pixels per channel (H * W).</param>
    public static Normalization FromPixels(ReadOnlySpan<byte> pixels, int channels, int plane)
    {
        if (channels <= 0 || plane <= 0 || pixels.Length % (channels * (long)plane) != 0)
            throw new ArgumentException($"{pixels.Length} bytes do not form [N, {channels}, {plane}] samples");
        if (pixels.IsEmpty) throw new ArgumentException("cannot compute statistics of an empty dataset");
        var s = new double[channels];
        var s2 = new double[channels];
        var buf = new float[plane];
        for (int o = 0; o < pixels.Length; o += channels * plane)
        {
            for (int c = 0; c < channels; c++)
            {
                TensorPrimitives.ConvertTruncating<byte, float>(pixels.Slice(o + c * plane, plane), buf);
                s[c] += TensorPrimitives.Sum(buf);
                s2[c] += TensorPrimitives.SumOfSquares(buf);
            }
        }
        var mean = new float[channels];
        var std = new float[channels];
        double n = (double)pixels.Length / channels;
        for (int c = 0; c < channels; c++)
        {
            double mu = s[c] / n / 255.0;
            double var = s2[c] / n / (255.0 * 255.0) - mu * mu;
            mean[c] = (float)mu;
            std[c] = (float)Math.Max(Math.Sqrt(Math.Max(var, 0)), 1e-6);
        }
        return new Normalization(mean, std);
    }

    /// <summary>JSON form <c>{"mean":[...],"std":[...]}</c>, e.g. for checkpoint metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dto(_mean, _std));

    /// <summary>Parses <see cref="ToJson"/> output.</summary>
    /// <exception cref="FormatException">The text is not a valid normalisation.</exception>
    public static Normalization FromJson(string json)
    {
        try
        {
            var d = JsonSerializer.Deserialize<Dto>(json) ?? throw new FormatException("normalisation JSON is null");
            return new Normalization(d.mean ?? Array.Empty<float>(), d.std ?? Array.Empty<float>());
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            throw new FormatException($"invalid normalisation JSON: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
    }

    private sealed record Dto(float[]? mean, float[]? std);

    /// <inheritdoc/>
    public override string ToString() =>
        "mean=[" + string.Join(", ", _mean.Select(v => v.ToString("G4", CultureInfo.InvariantCulture))) +
        "] std=[" + string.Join(", ", _std.Select(v => v.ToString("G4", CultureInfo.InvariantCulture))) + "]";
}

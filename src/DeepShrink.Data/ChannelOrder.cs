using System.Globalization;

namespace DeepShrink.Data;

/// <summary>
/// The order in which a model reads the colour channels of an image: model channel <c>c</c> receives image
/// (RGB) channel <c>order[c]</c>, e.g. [2, 1, 0] for a model trained on BGR images (CNTK's and Caffe's
/// ImageNet models). Recorded in a model's metadata as comma-separated numbers (<c>2,1,0</c>).
/// </summary>
public static class ChannelOrder
{
    /// <summary>The BGR order of a model reading blue, green, red.</summary>
    public static IReadOnlyList<int> Bgr { get; } = [2, 1, 0];

    /// <summary>Parses <c>2,1,0</c>; null or empty text gives null; anything but a permutation of 0..n-1 is a one-line <see cref="FormatException"/>.</summary>
    public static int[]? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split(',');
        var order = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out order[i]))
                throw new FormatException($"channel order '{text}': '{parts[i].Trim()}' is not a channel number");
        Check(order, $"channel order '{text}'");
        return order;
    }

    /// <summary>
    /// The order a model's metadata records (<see cref="Parse"/>), or null when there is none or it is the identity: the
    /// value <see cref="DatasetLoadOptions.ChannelOrder"/> takes for that model.
    /// </summary>
    public static int[]? ParseReordering(string? text) => Parse(text) is { } order && !IsIdentity(order) ? order : null;

    /// <summary>The metadata form: comma-separated channel numbers.</summary>
    public static string Format(IReadOnlyList<int> order) => string.Join(",", order.Select(c => c.ToString(CultureInfo.InvariantCulture)));

    /// <summary>True when every model channel reads the image channel of its own index.</summary>
    public static bool IsIdentity(IReadOnlyList<int> order) => order.Select((k, c) => k == c).All(b => b);

    /// <summary>Throws a one-line <see cref="FormatException"/> unless <paramref name="order"/> is a permutation of 0..n-1 (n &gt;= 1).</summary>
    public static void Check(IReadOnlyList<int> order, string what)
    {
        if (order.Count == 0 || order.Any(c => c < 0 || c >= order.Count) || order.Distinct().Count() != order.Count)
            throw new FormatException($"{what} must be a permutation of 0..{Math.Max(0, order.Count - 1)}, got [{string.Join(", ", order)}]");
    }

    /// <summary>
    /// Reorders the channel planes of every sample in place: sample channel <c>c</c> becomes the old channel
    /// <c>order[c]</c>. <paramref name="pixels"/> holds <paramref name="samples"/> samples [channels, plane].
    /// </summary>
    /// <exception cref="DatasetException">The order does not have one entry per channel.</exception>
    public static void Apply(Span<byte> pixels, int samples, int channels, int plane, IReadOnlyList<int> order)
    {
        if (order.Count != channels)
            throw new DatasetException($"channel order [{string.Join(", ", order)}] is for {order.Count} channels, the images have {channels}");
        if (IsIdentity(order)) return;
        var tmp = new byte[channels * plane];
        for (int s = 0; s < samples; s++)
        {
            var sample = pixels.Slice(s * channels * plane, channels * plane);
            sample.CopyTo(tmp);
            for (int c = 0; c < channels; c++) tmp.AsSpan(order[c] * plane, plane).CopyTo(sample.Slice(c * plane, plane));
        }
    }
}

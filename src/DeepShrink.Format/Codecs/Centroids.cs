namespace DeepShrink.Format.Codecs;

/// <summary>Helpers shared by the codebook codecs: validation and exact (bit-level) centroid lookup.</summary>
internal static class Centroids
{
    /// <summary>Throws unless there are 1 to <see cref="DszLimits.MaxAlphabetSize"/> centroids.</summary>
    public static void Check(ReadOnlySpan<float> centroids)
    {
        if (centroids.Length < 1 || centroids.Length > DszLimits.MaxAlphabetSize)
            throw new ArgumentException($"a codebook needs 1..{DszLimits.MaxAlphabetSize} centroids, got {centroids.Length}");
    }

    /// <summary>Maps the bit pattern of each centroid to its first index.</summary>
    public static Dictionary<int, int> BitMap(ReadOnlySpan<float> centroids)
    {
        var map = new Dictionary<int, int>(centroids.Length);
        for (int i = 0; i < centroids.Length; i++) map.TryAdd(BitConverter.SingleToInt32Bits(centroids[i]), i);
        return map;
    }

    /// <summary>Index of the centroid whose bits equal <paramref name="value"/>'s, or an exception naming the element.</summary>
    public static int IndexOf(Dictionary<int, int> map, float value, long element) =>
        map.TryGetValue(BitConverter.SingleToInt32Bits(value), out int k) ? k
        : throw new ArgumentException($"element {element} = {value:R} is not one of the centroids (values must be quantised exactly)");

    /// <summary>Reads the <c>centroids</c> part holding <paramref name="k"/> float32 values.</summary>
    public static float[] Read(EncodedTensor t, int k) => RawIO.BytesToFloats(CodecParams.Part(t, "centroids", 4L * k).Span);
}

namespace DeepShrink.Data;

/// <summary>
/// The content of an IDX file of unsigned bytes: its dimensions (outermost first) and the
/// row-major data.
/// </summary>
public sealed class IdxArray
{
    private readonly int[] _dims;

    /// <summary>Dimensions as declared in the header, outermost first.</summary>
    public IReadOnlyList<int> Dimensions => _dims;
    /// <summary>Row-major element bytes; the length is the product of <see cref="Dimensions"/>.</summary>
    public byte[] Data { get; }
    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <summary>Wraps data (no copy); its length must equal the product of the dimensions.</summary>
    public IdxArray(ReadOnlySpan<int> dimensions, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        long n = ByteCount(dimensions);
        if (n != data.Length) throw new ArgumentException($"dimensions [{string.Join(", ", dimensions.ToArray())}] need {n} bytes, got {data.Length}", nameof(data));
        _dims = dimensions.ToArray();
        Data = data;
    }

    /// <summary>Product of the dimensions, after checking there are 1 to 255 of them, none negative, and the product fits in an array.</summary>
    internal static long ByteCount(ReadOnlySpan<int> dimensions)
    {
        if (dimensions.Length is 0 or > 255) throw new ArgumentException("an IDX array needs 1 to 255 dimensions", nameof(dimensions));
        long n = 1;
        foreach (int d in dimensions)
        {
            if (d < 0) throw new ArgumentException($"negative dimension {d}", nameof(dimensions));
            n *= d;
            if (n > Array.MaxLength) throw new ArgumentException("IDX array too large", nameof(dimensions));
        }
        return n;
    }
}

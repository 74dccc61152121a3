namespace DeepShrink.Format;

/// <summary>Hard limits of the <c>.dsz</c> format and its codecs.</summary>
public static class DszLimits
{
    /// <summary>Largest symbol alphabet of a Huffman table or bit-packed stream (16-bit symbols).</summary>
    public const int MaxAlphabetSize = 1 << 16;

    /// <summary>Largest JSON header accepted by the reader (64 MiB).</summary>
    public const long MaxHeaderBytes = 64L << 20;

    /// <summary>
    /// Largest ratio of the inflated JSON header to the whole file (deflated headers compress JSON about
    /// 3-10x; a file may still inflate to 64 KiB whatever its size).
    /// </summary>
    public const long MaxHeaderInflation = 64;

    /// <summary>Default cap on the elements one decoded tensor may have (2^27 floats = 512 MiB).</summary>
    public const long DefaultMaxTensorElements = 1L << 27;

    /// <summary>Largest tensor rank accepted.</summary>
    public const int MaxRank = 16;

    /// <summary>Alignment of every blob, in bytes.</summary>
    public const int BlobAlignment = 64;
}

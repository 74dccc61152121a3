namespace DeepShrink.Format;

/// <summary>Byte-level constants of the <c>.dsz</c> container (see docs/FORMAT-dsz.md).</summary>
internal static class DszLayout
{
    /// <summary>File signature: 0x89 'D' 'S' 'Z' CR LF 0x1A LF (PNG-style: catches text-mode and 7-bit transfers).</summary>
    public static ReadOnlySpan<byte> Magic => [0x89, (byte)'D', (byte)'S', (byte)'Z', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The format version this code writes and reads.</summary>
    public const uint Version = 1;

    /// <summary>Bytes before the JSON header: magic, version, flags, header length, header CRC, reserved.</summary>
    public const int PreambleBytes = 32;

    /// <summary>Bytes of the preamble covered by the header checksum (magic, version, flags, length).</summary>
    public const int ChecksummedPreambleBytes = 24;

    /// <summary>Rounds <paramref name="x"/> up to the blob alignment.</summary>
    public static long Align(long x) => (x + DszLimits.BlobAlignment - 1) / DszLimits.BlobAlignment * DszLimits.BlobAlignment;

    /// <summary>Flag bit 0: the JSON header is stored raw-deflate compressed (RFC 1951).</summary>
    public const uint FlagDeflatedHeader = 1;

    /// <summary>Flag bit 1: blobs are packed (no alignment padding after the header or between blobs).</summary>
    public const uint FlagPackedBlobs = 2;

    /// <summary>Start of the next blob: <paramref name="x"/> itself when packed, else rounded up to the alignment.</summary>
    public static long Align(long x, bool packed) => packed ? x : Align(x);
}

using System.Buffers.Binary;
using System.Text;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Format.Tests;

/// <summary>Assertions and builders shared by the format tests.</summary>
internal static class CodecTestUtil
{
    /// <summary>Asserts two float arrays are bit-identical, naming the first differing element.</summary>
    public static void AssertBitExact(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            int e = BitConverter.SingleToInt32Bits(expected[i]), a = BitConverter.SingleToInt32Bits(actual[i]);
            if (e != a) Assert.Fail($"element {i}: expected {expected[i]:R} (0x{e:X8}), got {actual[i]:R} (0x{a:X8})");
        }
    }

    /// <summary>Random values with a fraction of exact zeros.</summary>
    public static float[] SparseRandom(Rng rng, int n, double zeroFraction)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rng.NextDouble() < zeroFraction ? 0f : (float)rng.NextGaussian();
        return x;
    }

    /// <summary>A copy of <paramref name="t"/> with replaced parameters and/or parts.</summary>
    public static EncodedTensor With(EncodedTensor t, string? paramsJson = null, string? part = null, byte[]? data = null, int[]? shape = null, string? codec = null)
    {
        var parts = t.Parts.ToDictionary(p => p.Key, p => p.Value);
        if (part is not null)
        {
            if (data is null) parts.Remove(part); else parts[part] = data;
        }
        var p = paramsJson is null ? t.Params : System.Text.Json.JsonDocument.Parse(paramsJson).RootElement;
        return new EncodedTensor(codec ?? t.Codec, shape ?? t.ShapeArray(), p, parts);
    }

    /// <summary>Builds a file with an arbitrary header and data section (checksums of the preamble+header computed).</summary>
    public static byte[] CraftFile(string headerJson, byte[] dataSection, uint version = 1) =>
        CraftFile(Encoding.UTF8.GetBytes(headerJson), dataSection, version);

    /// <summary>A file from raw header bytes (maybe not UTF-8, maybe deflated: flag bit 0) with valid preamble and header checksum.</summary>
    public static byte[] CraftFile(byte[] header, byte[] dataSection, uint version = 1, uint flags = 0)
    {
        var pre = new byte[32];
        new byte[] { 0x89, (byte)'D', (byte)'S', (byte)'Z', 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(pre, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(pre.AsSpan(8), version);
        BinaryPrimitives.WriteUInt32LittleEndian(pre.AsSpan(12), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(pre.AsSpan(16), (ulong)header.Length);
        uint crc = DszChecksum.Finish(DszChecksum.Append(DszChecksum.Append(DszChecksum.Start, pre.AsSpan(0, 24)), header));
        BinaryPrimitives.WriteUInt32LittleEndian(pre.AsSpan(24), crc);
        long dataStart = (32 + header.Length + 63) / 64 * 64;
        var file = new byte[dataStart + dataSection.Length];
        pre.CopyTo(file, 0);
        header.CopyTo(file, 32);
        dataSection.CopyTo(file, dataStart);
        return file;
    }

    /// <summary>Header JSON of a file with one blob holding <paramref name="blob"/>.</summary>
    public static string OneTensorHeader(string codec, string shape, string paramsJson, string partName, byte[] blob) =>
        "{\"graph\":null,\"metadata\":{},\"tensors\":[{\"name\":\"t\",\"shape\":" + shape + ",\"codec\":\"" + codec +
        "\",\"params\":" + paramsJson + ",\"parts\":{\"" + partName + "\":0}}],\"blobs\":[{\"offset\":0,\"length\":" + blob.Length +
        ",\"crc32c\":" + DszChecksum.Compute(blob) + "}]}";
}

using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using DeepShrink.Core;
using DeepShrink.Format;

namespace DeepShrink.Format.Tests;

public class SafetensorsRoundTripTests
{
    private static float[] SpecialFloats(Rng rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)rng.NextGaussian();
        float[] specials = { float.NaN, BitConverter.Int32BitsToSingle(0x7FC12345), -0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.MaxValue };
        for (int i = 0; i < Math.Min(n, specials.Length); i++) v[i * 3 % n] = specials[i];
        return v;
    }

    private static Dictionary<string, SafetensorsTensor> OddTensors()
    {
        var rng = new Rng(20240601);
        return new Dictionary<string, SafetensorsTensor>
        {
            ["scalar"] = SafetensorsTensor.FromFloats(new[] { 3.25f }, Array.Empty<int>()),
            ["empty"] = SafetensorsTensor.FromFloats(Array.Empty<float>(), new[] { 0 }),
            ["empty.3d"] = SafetensorsTensor.FromFloats(Array.Empty<float>(), new[] { 3, 0, 2 }),
            ["fc1.weight"] = SafetensorsTensor.FromFloats(SpecialFloats(rng, 35), new[] { 7, 5 }),
            ["conv.weight"] = SafetensorsTensor.FromFloats(SpecialFloats(rng, 2 * 3 * 3 * 3), new[] { 2, 3, 3, 3 }),
            ["codes"] = SafetensorsTensor.FromSBytes(new sbyte[] { -128, -1, 0, 1, 127 }, new[] { 5 }),
            ["bytes"] = SafetensorsTensor.FromBytes(new byte[] { 0, 255, 7 }, new[] { 3, 1 }),
            ["ints"] = SafetensorsTensor.FromInt32(new[] { int.MinValue, -1, 0, int.MaxValue }, new[] { 2, 2 }),
            ["ünïcode \"name\""] = SafetensorsTensor.FromFloats(new[] { 1f, 2f }, new[] { 2 }),
        };
    }

    private static readonly Dictionary<string, string> Meta = new()
    {
        ["format"] = "pt",
        ["deepshrink.config"] = "{\"hidden\":[300,100],\"note\":\"line1\\nline2 ✓\"}",
        ["empty"] = "",
    };

    private static void AssertSame(IReadOnlyDictionary<string, SafetensorsTensor> expected, SafetensorsFile actual)
    {
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Tensors.Keys);
        foreach (var (name, t) in expected)
        {
            var r = actual.Tensors[name];
            Assert.Equal(t.DType, r.DType);
            Assert.Equal(t.Shape, r.Shape);
            Assert.True(t.Data.Span.SequenceEqual(r.Data.Span), $"bytes of '{name}' differ");
        }
    }

    [Fact]
    public void RoundTrip_IsBitExact_WithMetadataAndOddShapes()
    {
        var tensors = OddTensors();
        var bytes = SafetensorsWriter.Serialize(tensors, Meta);
        var file = SafetensorsReader.Parse(bytes);
        AssertSame(tensors, file);
        Assert.Equal(Meta.OrderBy(k => k.Key, StringComparer.Ordinal), file.Metadata);
        // NaN payload survives the float conversion too.
        var w = file.Tensors["fc1.weight"].ToFloatArray();
        var orig = SpecialFloats(new Rng(20240601), 35);
        for (int i = 0; i < w.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(orig[i]), BitConverter.SingleToInt32Bits(w[i]));
        // Re-serialising what was read gives the same bytes.
        Assert.Equal(bytes, SafetensorsWriter.Serialize(file.Tensors, file.Metadata));
    }

    [Fact]
    public void Layout_HeaderAligned_SortedByName_ContiguousOffsets()
    {
        var tensors = OddTensors();
        var bytes = SafetensorsWriter.Serialize(tensors, Meta);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        var headerText = Encoding.UTF8.GetString(bytes, 8, (int)n);
        string trimmed = headerText.TrimEnd(' ');
        Assert.EndsWith("}", trimmed);
        Assert.True(headerText.Length - trimmed.Length < 8, "padding must be shorter than the alignment");
        using var doc = JsonDocument.Parse(headerText);
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).Where(p => p != "__metadata__").ToList();
        Assert.Equal(names.OrderBy(x => x, StringComparer.Ordinal), names);
        long expected = 0;
        foreach (var name in names)
        {
            var off = doc.RootElement.GetProperty(name).GetProperty("data_offsets");
            Assert.Equal(expected, off[0].GetInt64());
            expected = off[1].GetInt64();
            Assert.Equal(tensors[name].Data.Length, expected - off[0].GetInt64());
        }
        Assert.Equal(bytes.Length - 8 - (long)n, expected);
    }

    [Fact]
    public void HandBuiltFile_ReadsHalfBFloatAndIntegerDTypes()
    {
        // Built by hand from the format description, as another implementation would write it.
        var data = new List<byte>();
        data.AddRange(new byte[] { 0x00, 0x3C, 0x00, 0xC0 });            // F16 [1, -2]
        data.AddRange(new byte[] { 0x80, 0x3F, 0x40, 0xC0 });            // BF16 [1, -3]
        data.AddRange(new byte[] { 0xFF, 0x05 });                        // I8 [-1, 5]
        data.AddRange(new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }); // I64 [-2]
        data.AddRange(BitConverter.GetBytes(0.5));                       // F64 [0.5]
        string header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}," +
                        "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[4,8]}," +
                        "\"i\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[8,10]}," +
                        "\"l\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[10,18]}," +
                        "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[18,26],\"extra\":1}}";
        var file = SafetensorsReader.Parse(Build(header, data.ToArray()));
        Assert.Equal(new[] { 1f, -2f }, file.Tensors["h"].ToFloatArray());
        Assert.Equal(new[] { 1f, -3f }, file.Tensors["b"].ToFloatArray());
        Assert.Equal(new[] { 1, 2 }, file.Tensors["b"].Shape);
        Assert.Equal(new[] { -1, 5 }, file.Tensors["i"].ToInt32Array());
        Assert.Equal(new[] { -1f, 5f }, file.Tensors["i"].ToFloatArray());
        Assert.Equal(new[] { -2L }, file.Tensors["l"].ToInt64Array());
        Assert.Equal(new[] { 0.5f }, file.Tensors["d"].ToFloatArray());
        Assert.Throws<SafetensorsException>(() => file.Tensors["h"].ToInt64Array());
        Assert.Empty(file.Metadata);
    }

    /// <summary>8-byte length + header (unpadded) + data.</summary>
    internal static byte[] Build(string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var b = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        data.CopyTo(b, 8 + h.Length);
        return b;
    }

    [Fact]
    public void Write_IsAtomic_AndReplacesExistingFile()
    {
        var dir = Directory.CreateTempSubdirectory("ds-st-");
        try
        {
            string path = Path.Combine(dir.FullName, "m.safetensors");
            var first = new Dictionary<string, SafetensorsTensor> { ["a"] = SafetensorsTensor.FromFloats(new[] { 1f }, new[] { 1 }) };
            SafetensorsWriter.Write(path, first);
            var second = OddTensors();
            SafetensorsWriter.Write(path, second, Meta);
            AssertSame(second, SafetensorsReader.Read(path));

            var before = File.ReadAllBytes(path);
            Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
            {
                s.Write(new byte[1000]);
                throw new InvalidOperationException("simulated failure mid-write");
            }));
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Equal(new[] { "m.safetensors" }, dir.GetFiles().Select(f => f.Name));

            AtomicFile.WriteAllBytes(path, new byte[] { 1, 2, 3 });
            Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
            Assert.Single(dir.GetFiles());
            Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.WriteAllBytes(Path.Combine(dir.FullName, "no", "x"), new byte[1]));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Writer_RejectsReservedNameAndBadTensors()
    {
        var t = SafetensorsTensor.FromFloats(new[] { 1f }, new[] { 1 });
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Serialize(new Dictionary<string, SafetensorsTensor> { ["__metadata__"] = t }));
        Assert.Throws<ArgumentException>(() => new SafetensorsTensor(SafetensorsDType.F32, new[] { 2 }, new byte[4]));
        Assert.Throws<ArgumentException>(() => new SafetensorsTensor(SafetensorsDType.F32, new[] { -1 }, Array.Empty<byte>()));
    }
}

using System.Buffers.Binary;
using DeepShrink.Core;
using DeepShrink.Format;

namespace DeepShrink.Format.Tests;

public class SafetensorsCorruptTests
{
    private static byte[] Build(string header, int dataBytes) => SafetensorsRoundTripTests.Build(header, new byte[dataBytes]);

    private static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    public static TheoryData<string, byte[]> Corrupt => new()
    {
        { "8-byte header length", new byte[5] },
        { "exceeds", Build("{}", 0)[..9] },
        { "too small", Build("{", 0) },
        { "not valid JSON", Build("{\"a\":", 0) },
        { "not valid JSON", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4) },
        { "expected an object", Build("[1,2]", 0) },
        { "no string 'dtype'", Build("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4) },
        { "unsupported dtype 'F8'", Build("{" + Entry("a", "F8", "[1]", 0, 1) + "}", 1) },
        { "unsupported dtype 'f32'", Build("{" + Entry("a", "f32", "[1]", 0, 4) + "}", 4) },
        { "invalid dimension -1", Build("{" + Entry("a", "F32", "[-1]", 0, 4) + "}", 4) },
        { "invalid dimension 1.5", Build("{" + Entry("a", "F32", "[1.5]", 0, 4) + "}", 4) },
        { "invalid dimension 4294967296", Build("{" + Entry("a", "F32", "[4294967296]", 0, 4) + "}", 4) },
        { "shape is too large", Build("{" + Entry("a", "F32", "[2147483647,2147483647]", 0, 4) + "}", 4) },
        { "two integers", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4) },
        { "invalid data_offsets", Build("{" + Entry("a", "F32", "[1]", -4, 0) + "}", 4) },
        { "begin after end", Build("{" + Entry("a", "F32", "[0]", 4, 0) + "}", 4) },
        { "needs 8 bytes", Build("{" + Entry("a", "F32", "[2]", 0, 4) + "}", 4) },
        { "overlap", Build("{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("b", "F32", "[1]", 4, 8) + "}", 8) },
        { "gap in data", Build("{" + Entry("a", "F32", "[1]", 4, 8) + "}", 8) },
        { "trailing bytes", Build("{" + Entry("a", "F32", "[1]", 0, 4) + "}", 12) },
        { "run past the end", Build("{" + Entry("a", "F32", "[3]", 0, 12) + "}", 8) },
        { "duplicate key 'a'", Build("{" + Entry("a", "F32", "[1]", 0, 4) + "," + Entry("a", "F32", "[1]", 4, 8) + "}", 8) },
        { "expected a string", Build("{\"__metadata__\":{\"k\":1}}", 0) },
        { "expected an object of strings", Build("{\"__metadata__\":[\"k\"]}", 0) },
        { "expected an object", Build("{\"a\":3}", 0) },
        { "not valid UTF-8", Build("{\"a?\":{}}", 0).Select(b => b == (byte)'?' ? (byte)0xFF : b).ToArray() },
    };

    [Theory, MemberData(nameof(Corrupt))]
    public void CorruptFile_ThrowsOneLineSafetensorsException(string expected, byte[] bytes)
    {
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsReader.Parse(bytes, "bad.safetensors"));
        Assert.Contains(expected, ex.Message);
        Assert.StartsWith("bad.safetensors: ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void HugeHeaderLength_IsRejectedBeforeAllocating()
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(b, ulong.MaxValue);
        Assert.Contains("exceeds", Assert.Throws<SafetensorsException>(() => SafetensorsReader.Parse(b)).Message);
    }

    private static byte[] Sample()
    {
        var rng = new Rng(7);
        var tensors = new Dictionary<string, SafetensorsTensor>
        {
            ["a.weight"] = SafetensorsTensor.FromTensor(Tensor.Randn(rng, 1f, 3, 4)),
            ["a.bias"] = SafetensorsTensor.FromFloats(new[] { 1f, 2f, 3f }, new[] { 3 }),
            ["codes"] = SafetensorsTensor.FromSBytes(new sbyte[] { 1, -2, 3 }, new[] { 3 }),
            ["idx"] = SafetensorsTensor.FromInt32(new[] { 5, 6 }, new[] { 2 }),
        };
        return SafetensorsWriter.Serialize(tensors, new Dictionary<string, string> { ["deepshrink.arch"] = "mlp" });
    }

    [Fact]
    public void EveryTruncation_ThrowsSafetensorsException()
    {
        var full = Sample();
        for (int len = 0; len < full.Length; len++)
        {
            var ex = Assert.Throws<SafetensorsException>(() => SafetensorsReader.Parse(full.AsMemory(0, len)));
            Assert.DoesNotContain('\n', ex.Message);
        }
    }

    [Fact]
    public void RandomByteFlips_EitherParseOrThrowSafetensorsException()
    {
        var full = Sample();
        var rng = new Rng(0xF1A5);
        int rejected = 0;
        for (int iter = 0; iter < 3000; iter++)
        {
            var b = (byte[])full.Clone();
            int flips = 1 + rng.NextInt(4);
            // Bias flips towards the length field and header, where structure lives.
            for (int f = 0; f < flips; f++) b[rng.NextInt(iter % 2 == 0 ? b.Length : Math.Min(b.Length, 200))] ^= (byte)(1 + rng.NextInt(255));
            try
            {
                var file = SafetensorsReader.Parse(b);
                foreach (var t in file.Tensors.Values)
                {
                    _ = t.ToFloatArray();
                    if (!t.DType.IsFloatingPoint()) _ = t.ToInt64Array();
                }
            }
            catch (SafetensorsException ex)
            {
                Assert.DoesNotContain('\n', ex.Message);
                rejected++;
            }
        }
        Assert.True(rejected > 500, $"only {rejected} of 3000 corrupted files were rejected");
    }

    [Fact]
    public void RandomGarbage_ThrowsSafetensorsException()
    {
        var rng = new Rng(99);
        for (int iter = 0; iter < 500; iter++)
        {
            var b = new byte[rng.NextInt(64)];
            for (int i = 0; i < b.Length; i++) b[i] = (byte)rng.NextInt(256);
            if (b.Length >= 8) BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)rng.NextInt(b.Length));
            Assert.Throws<SafetensorsException>(() => SafetensorsReader.Parse(b));
        }
    }

    [Fact]
    public void MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => SafetensorsReader.Read(Path.Combine(Path.GetTempPath(), "does-not-exist-" + Guid.NewGuid() + ".safetensors")));
    }
}

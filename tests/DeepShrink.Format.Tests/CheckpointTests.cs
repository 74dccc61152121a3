using DeepShrink.Core;
using DeepShrink.Format;

namespace DeepShrink.Format.Tests;

public class CheckpointTests
{
    private static void InTempDir(Action<string> body)
    {
        var dir = Directory.CreateTempSubdirectory("ds-ckpt-");
        try { body(dir.FullName); }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void SaveLoad_RoundTripsTensorsAndMetadata()
    {
        InTempDir(dir =>
        {
            var rng = new Rng(42);
            var w = Tensor.Randn(rng, 0.1f, 4, 3);
            var tensors = new Dictionary<string, Tensor>
            {
                ["fc1.weight"] = w,
                ["fc1.weight_t"] = w.Transpose(),       // non-contiguous view: saved in logical order
                ["fc1.bias"] = Tensor.Zeros(4),
                ["scale"] = Tensor.Scalar(-0.5f),
            };
            var meta = new Dictionary<string, string>
            {
                [Checkpoint.ArchKey] = "lenet-300-100",
                [Checkpoint.ConfigKey] = "{\"hidden\":[300,100]}",
            };
            string path = Path.Combine(dir, "m.safetensors");
            Checkpoint.Save(path, tensors, meta);
            var (loaded, loadedMeta) = Checkpoint.Load(path);
            Assert.Equal(tensors.Keys.OrderBy(k => k, StringComparer.Ordinal), loaded.Keys);
            foreach (var (name, t) in tensors)
            {
                Assert.Equal(t.Shape, loaded[name].Shape);
                Assert.Equal(t.ToArray(), loaded[name].ToArray());
            }
            Assert.Equal(w.Transpose().ToArray(), loaded["fc1.weight_t"].ToArray());
            Assert.Equal(meta.OrderBy(k => k.Key, StringComparer.Ordinal), loadedMeta);
            var data = Checkpoint.Load(path);
            Assert.Equal("lenet-300-100", data.Arch);
            Assert.Equal("{\"hidden\":[300,100]}", data.Config);
        });
    }

    [Fact]
    public void Load_ConvertsIntegerAndHalfTensorsToFloat()
    {
        InTempDir(dir =>
        {
            string path = Path.Combine(dir, "py.safetensors");
            var half = new byte[4];
            BitConverter.TryWriteBytes(half.AsSpan(0), BitConverter.HalfToUInt16Bits((Half)0.25f));
            BitConverter.TryWriteBytes(half.AsSpan(2), BitConverter.HalfToUInt16Bits((Half)(-8f)));
            SafetensorsWriter.Write(path, new Dictionary<string, SafetensorsTensor>
            {
                ["bn.num_batches_tracked"] = new(SafetensorsDType.I64, Array.Empty<int>(), BitConverter.GetBytes(12345L)),
                ["w"] = new(SafetensorsDType.F16, new[] { 2 }, half),
            });
            var data = Checkpoint.Load(path);
            Assert.Equal(12345f, data.Tensors["bn.num_batches_tracked"].Item());
            Assert.Equal(new[] { 0.25f, -8f }, data.Tensors["w"].ToArray());
            Assert.Null(data.Arch);
        });
    }

    [Fact]
    public void Load_CorruptCheckpoint_NamesTheFile()
    {
        InTempDir(dir =>
        {
            string path = Path.Combine(dir, "broken.safetensors");
            Checkpoint.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(10) }, null);
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..^4]);
            var ex = Assert.Throws<SafetensorsException>(() => Checkpoint.Load(path));
            Assert.Contains("broken.safetensors", ex.Message);
        });
    }
}

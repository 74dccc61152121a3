using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Format;

namespace DeepShrink.Runtime.Tests;

public class InferenceModelTests
{
    private const float Tol = 1e-5f;

    public static IEnumerable<object[]> Codecs() =>
        new[] { "dense-f32", "dense-f16", "sparse-codebook", "sparse-f32", "codebook", "int8", "binary", "lowrank" }.Select(c => new object[] { c });

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Lenet300MatchesTheDecodedModelForEveryCodec(string codec)
    {
        using var dir = new TempDir();
        var path = TestModels.Write(TestModels.Create("lenet-300-100", 1), "lenet-300-100", TestModels.Codec(codec), dir);
        var x = Tensor.Randn(new Rng(2), 1f, 7, 1, 28, 28);
        var expected = Decoded(path, x);
        foreach (var policy in Enum.GetValues<KernelPolicy>())
        {
            var m = InferenceModel.Load(path, new RuntimeOptions { Kernels = policy, CalibrationBatch = 4 });
            Assert.True(expected.MaxAbsDiff(m.Forward(x)) <= Tol, $"{codec} {policy}: {expected.MaxAbsDiff(m.Forward(x))}");
            for (int b = 0; b < 7; b++)
            {   // batch 1 takes the vector kernel: same answer
                var one = m.Run(x.Span.Slice(b * 784, 784), 1);
                Assert.True(MatrixTestUtil.MaxAbsDiff(expected.Span.Slice(b * 10, 10), one) <= Tol);
            }
            if (policy == KernelPolicy.Dense) Assert.All(m.Layers, l => Assert.Equal("dense", l.Kernel));
        }
    }

    [Fact]
    public void DeepCompressionLayersRunCompressedAndSmall()
    {
        using var dir = new TempDir();
        var path = TestModels.Write(TestModels.Create("lenet-300-100", 3), "lenet-300-100", TestModels.DeepCompression(), dir);
        var m = InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Compressed });
        Assert.Equal([1, 28, 28], m.InputShape);
        Assert.Equal([10], m.OutputShape);
        Assert.Equal(3, m.Layers.Count);
        Assert.All(m.Layers, l => Assert.Equal("sparse-codebook", l.Kernel));
        long dense = 4L * (784 * 300 + 300 * 100 + 100 * 10);
        Assert.True(m.WeightBytes * 8 < dense, $"{m.WeightBytes} bytes in memory vs {dense} dense");
        Assert.Equal(3, m.StepCount); // relus folded, flatten aliased
        Assert.Equal("fashion-mnist", m.Metadata[ModelIO.DatasetKey]);
        var auto = InferenceModel.Load(path);
        Assert.All(auto.Layers, l => Assert.Equal(2, l.MeasuredMicros.Count));
    }

    [Fact]
    public void ConvModelsMatchTheDecodedModel()
    {
        using var dir = new TempDir();
        foreach (var arch in new[] { "lenet-5", "vgg-small", "resnet-20" })
        {
            var path = TestModels.Write(TestModels.Create(arch, 4), arch, TestModels.DeepCompression(0.8), dir, arch + ".dsz");
            var x = Tensor.Randn(new Rng(5), 1f, 3, 1, 28, 28);
            var expected = Decoded(path, x);
            foreach (var policy in new[] { KernelPolicy.Auto, KernelPolicy.Dense, KernelPolicy.Compressed })
            {
                var m = InferenceModel.Load(path, new RuntimeOptions { Kernels = policy, CalibrationBatch = 2 });
                Assert.True(expected.MaxAbsDiff(m.Forward(x)) <= Tol, $"{arch} {policy}: {expected.MaxAbsDiff(m.Forward(x))}");
            }
        }
    }

    internal static Tensor Decoded(string path, Tensor x)
    {
        var stored = ModelIO.LoadDsz(DszFile.Read(path), DeepShrink.Compression.Quantization.InputHooks.Factories);
        using var _ = Engine.NoGrad();
        return stored.Model.Forward(x);
    }
}

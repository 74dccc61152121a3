using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Nn.Optim;

namespace DeepShrink.Runtime.Tests;

/// <summary>On real Fashion-MNIST test images, the runtime predicts exactly what the decoded model predicts.</summary>
public class AccuracyTests
{
    [Fact]
    public void BrieflyTrainedDeepCompressionModelKeepsItsTestAccuracy()
    {
        if (!Directory.Exists(DatasetSpec.FashionMnistDirectory)) return; // needs the dataset package (installed on the build machines)
        var data = DatasetLoader.Load(new DatasetSpec(DatasetKind.FashionMnist), new DatasetLoadOptions { Normalization = Normalization.FashionMnist });
        var model = TestModels.Create("lenet-300-100", 50);
        var opt = new Sgd(model.NamedParameters(), 0.05f, 0.9f);
        foreach (var batch in new DataLoader(data.Train, new DataLoaderOptions { BatchSize = 64, Seed = 1 }).Epoch(0).Take(60))
        {
            opt.ZeroGrad();
            Ops.CrossEntropy(model.Forward(batch.Images), batch.Labels).Backward();
            opt.Step();
        }
        using var dir = new TempDir();
        var path = TestModels.Write(model, "lenet-300-100", TestModels.DeepCompression(), dir);
        var test = data.Test.Take(2000);
        var x = test.Images;
        var want = InferenceModelTests.Decoded(path, x);
        var rt = InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Compressed });
        Assert.All(rt.Layers, l => Assert.Equal("sparse-codebook", l.Kernel));
        var got = rt.Forward(x);
        Assert.True(want.MaxAbsDiff(got) <= 1e-5f, $"max |diff| {want.MaxAbsDiff(got)}");
        int correctWant = 0, correctGot = 0, nearTies = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var w = want.Span.Slice(i * 10, 10);
            int a = ArgMax(w), b = ArgMax(got.Span.Slice(i * 10, 10));
            if (a != b)
            {   // only a near-tie may flip: the logits agree to 1e-5
                Assert.True(Math.Abs(w[a] - w[b]) <= 2e-5f, $"image {i}: prediction {a} vs {b} with margin {w[a] - w[b]}");
                nearTies++;
            }
            if (a == test.Label(i)) correctWant++;
            if (b == test.Label(i)) correctGot++;
        }
        Assert.True(Math.Abs(correctWant - correctGot) <= nearTies);
        Assert.True(correctGot > test.Count / 2, $"accuracy {correctGot}/{test.Count}: the brief training did not work");
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}

using DeepShrink.Core;

namespace DeepShrink.Nn.Zoo;

/// <summary>
/// Small student networks for distillation, built with <see cref="NetBuilder"/> for any input size and
/// output width (<see cref="ModelConfig.NumClasses"/>: classes for soft targets, or the teacher's feature
/// size for feature distillation).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>mlp-tiny</c>: flatten, fc 32, ReLU, fc N (28x28: 25,450 weights + biases, about 1/10 of LeNet-300-100).</item>
/// <item><c>cnn-tiny</c>: conv 8@3x3 BN ReLU, max-pool, conv 16@3x3 BN ReLU, max-pool, conv 32@3x3 BN ReLU, global average pool, fc N.</item>
/// <item><c>fitnet-thin</c>: a thin-and-deep FitNets student (Romero et al. 2015): 3 stages of three 3x3 conv-BN-ReLU
/// (16, 32, 48 channels) with max-pools, global average pool, fc N; guided layer for hints: <c>relu6</c> (end of stage 2).</item>
/// <item><c>fitnet-deep</c>: the same at twice the depth, 3 stages of six 3x3 conv-BN-ReLU (16, 32, 48 channels), 19 weight
/// layers like the paper's deepest students (28x28x1 inputs: 181,498 parameters, under 1/3 of vgg-small); guided layer:
/// <c>relu12</c> (end of stage 2).</item>
/// <item><c>fitnet-deeper</c>: the same at three times the depth, 3 stages of nine 3x3 conv-BN-ReLU (16, 32, 48 channels),
/// 28 weight layers, deep enough for a plain (non-residual) network to train worse than a shallower one (He et al. 2016);
/// 28x28x1 inputs: 278,842 parameters, or 157,294 as <c>fitnet-deeper:0.75</c> (12, 24, 36 channels, under 1/3 of
/// vgg-small); guided layers at the stage ends: <c>relu9</c>, <c>relu18</c>, <c>relu27</c>.</item>
/// <item><c>compact-cnn</c>: an ImageNet-style compact CNN (MobileNet-like, Howard et al. 2017): 3x3 stride-2 stem (16),
/// depthwise-separable blocks 32, 64 (s2), 64, 128 (s2), 128, 256 (s2), global average pool, fc N.</item>
/// </list>
/// </remarks>
public static class StudentZoo
{
    /// <summary>Known student names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mlp-tiny", "cnn-tiny", "fitnet-thin", "fitnet-deep", "fitnet-deeper", "compact-cnn"];

    /// <summary>Whether <paramref name="name"/> is a student or a reference zoo model.</summary>
    public static bool Knows(string name) => Names.Contains(name) || ModelZoo.Names.Contains(name);

    /// <summary>Creates a freshly initialised student (or any <see cref="ModelZoo"/> model by name).</summary>
    public static GraphModule Create(string name, ModelConfig config, Rng rng)
    {
        if (ModelZoo.Names.Contains(name)) return ModelZoo.Create(name, config, rng);
        config.Validate();
        var b = new NetBuilder([config.InChannels, config.ImageSize, config.ImageSize], rng);
        string y = name switch
        {
            "mlp-tiny" => MlpTiny(b, config),
            "cnn-tiny" => CnnTiny(b, config),
            "fitnet-thin" => FitNetThin(b, config, 3),
            "fitnet-deep" => FitNetThin(b, config, 6),
            "fitnet-deeper" => FitNetThin(b, config, 9),
            "compact-cnn" => CompactCnn(b, config),
            _ => throw new ArgumentException($"unknown student '{name}' (known: {string.Join(", ", Names.Concat(ModelZoo.Names))})"),
        };
        return b.Finish(y);
    }

    private static string MlpTiny(NetBuilder b, ModelConfig c)
    {
        var v = b.Op("flatten", "flatten", b.Input, new() { ["start_axis"] = 1 });
        v = b.Op("relu1", "relu", b.Linear("fc1", v, 32));
        return b.Linear("fc2", v, c.NumClasses);
    }

    private static string ConvBnRelu(NetBuilder b, int idx, string x, int outC, int stride = 1)
    {
        var v = b.Conv($"conv{idx}", x, outC, 3, stride, 1, bias: false);
        return b.Op($"relu{idx}", "relu", b.BatchNorm($"bn{idx}", v));
    }

    private static string Pool(NetBuilder b, string name, string x)
        => b.Op(name, "maxpool2d", x, new() { ["kernel"] = 2, ["stride"] = 2, ["pad"] = 0 });

    private static string Head(NetBuilder b, string x, int n)
    {
        var v = b.Op("pool", "global_avgpool2d", x);
        v = b.Op("flatten", "flatten", v, new() { ["start_axis"] = 1 });
        return b.Linear("fc", v, n);
    }

    private static string CnnTiny(NetBuilder b, ModelConfig c)
    {
        var v = Pool(b, "pool1", ConvBnRelu(b, 1, b.Input, 8));
        v = Pool(b, "pool2", ConvBnRelu(b, 2, v, 16));
        return Head(b, ConvBnRelu(b, 3, v, 32), c.NumClasses);
    }

    private static string FitNetThin(NetBuilder b, ModelConfig c, int perStage)
    {
        var v = b.Input;
        int idx = 0;
        foreach (int width in new[] { 16, 32, 48 })
        {
            for (int k = 0; k < perStage; k++) v = ConvBnRelu(b, ++idx, v, width);
            if (b.Shape(v)[1] >= 4) v = Pool(b, $"pool{idx / perStage}", v);
        }
        return Head(b, v, c.NumClasses);
    }

    private static string CompactCnn(NetBuilder b, ModelConfig c)
    {
        var v = ConvBnRelu(b, 0, b.Input, 16, stride: c.ImageSize >= 32 ? 2 : 1);
        int idx = 0;
        foreach (var (outC, stride) in new[] { (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2) })
        {
            idx++;
            int inC = b.Shape(v)[0];
            var d = b.Conv($"block{idx}.dw", v, inC, 3, stride, 1, groups: inC, bias: false);
            d = b.Op($"block{idx}.relu1", "relu", b.BatchNorm($"block{idx}.bn1", d));
            var p = b.Conv($"block{idx}.pw", d, outC, 1, bias: false);
            v = b.Op($"block{idx}.relu2", "relu", b.BatchNorm($"block{idx}.bn2", p));
        }
        return Head(b, v, c.NumClasses);
    }
}

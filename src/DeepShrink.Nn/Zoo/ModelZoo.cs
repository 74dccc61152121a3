using DeepShrink.Core;

namespace DeepShrink.Nn.Zoo;

/// <summary>
/// Reference networks, adapted to 28x28 single-channel inputs by default, each built as a graph
/// (<see cref="GraphModule"/>) with the parameter names of the original layer stacks.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>lenet-300-100</c>: 784-300-100-10 MLP with ReLU (LeCun et al. 1998; Han et al. 2015), 266,200 weights.</item>
/// <item><c>lenet-5</c>: the Caffe variant used by Deep Compression: conv 20@5x5, max-pool 2, conv 50@5x5,
/// max-pool 2, fc 500, fc 10 (430,500 weights); ReLU after each conv and after fc 500.</item>
/// <item><c>vgg-small</c>: VGG-style 3x3 conv stacks with batch norm: 32-32-M-64-64-M-128-128-M, fc 256, fc 10.</item>
/// <item><c>vgg-small-dws</c>, <c>vgg-small-fire</c>: compact students of vgg-small (for distillation): every 3x3
/// conv after the first is depthwise 3x3 + pointwise 1x1 (MobileNets), or a fire module (SqueezeNet: 1x1 squeeze to
/// C/4, then 1x1 and 3x3 expands of half the outputs each, concatenated).</item>
/// <item><c>resnet-20</c>: He et al. (2016) CIFAR ResNet-20: 3x3 stem, 3 stages x 3 basic blocks (16, 32, 64 channels), global average pool, fc.</item>
/// </list>
/// </remarks>
public static class ModelZoo
{
    /// <summary>Known architecture names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "lenet-300-100", "lenet-5", "vgg-small", "resnet-20", "vgg-small-dws", "vgg-small-fire" };

    /// <summary>Creates a freshly initialised model.</summary>
    public static GraphModule Create(string arch, ModelConfig config, Rng rng)
    {
        config.Validate();
        var b = new NetBuilder([config.InChannels, config.ImageSize, config.ImageSize], rng);
        string y = arch switch
        {
            "lenet-300-100" => LeNet300100(b, config),
            "lenet-5" => LeNet5(b, config),
            "vgg-small" => VggSmall(b, config),
            "vgg-small-dws" => VggSmall(b, config, "dws"),
            "vgg-small-fire" => VggSmall(b, config, "fire"),
            "resnet-20" => ResNet20(b, config),
            _ => throw new ArgumentException($"unknown model '{arch}' (known: {string.Join(", ", Names)})"),
        };
        return b.Finish(y);
    }

    private static string LeNet300100(NetBuilder b, ModelConfig c)
    {
        var v = b.Op("flatten", "flatten", b.Input, new() { ["start_axis"] = 1 });
        v = b.Op("relu1", "relu", b.Linear("fc1", v, 300));
        v = b.Op("relu2", "relu", b.Linear("fc2", v, 100));
        return b.Linear("fc3", v, c.NumClasses);
    }

    private static string LeNet5(NetBuilder b, ModelConfig c)
    {
        int s = ((c.ImageSize - 4) / 2 - 4) / 2;
        if (s < 1) throw new ArgumentException($"lenet-5 needs image_size >= 16, got {c.ImageSize}");
        var v = b.Op("relu1", "relu", b.Conv("conv1", b.Input, 20, 5));
        v = b.Op("pool1", "maxpool2d", v, new() { ["kernel"] = 2, ["stride"] = 2, ["pad"] = 0 });
        v = b.Op("relu2", "relu", b.Conv("conv2", v, 50, 5));
        v = b.Op("pool2", "maxpool2d", v, new() { ["kernel"] = 2, ["stride"] = 2, ["pad"] = 0 });
        v = b.Op("flatten", "flatten", v, new() { ["start_axis"] = 1 });
        v = b.Op("relu3", "relu", b.Linear("fc1", v, 500));
        return b.Linear("fc2", v, c.NumClasses);
    }

    private static string VggSmall(NetBuilder b, ModelConfig c, string compact = "")
    {
        int w = c.Width, idx = 0;
        var v = b.Input;
        foreach (int outC in new[] { 32 * w, 32 * w, -1, 64 * w, 64 * w, -1, 128 * w, 128 * w, -1 })
        {
            if (outC < 0) { v = b.Op($"pool{idx}", "maxpool2d", v, new() { ["kernel"] = 2, ["stride"] = 2, ["pad"] = 0 }); continue; }
            idx++;
            v = idx == 1 || compact.Length == 0 ? b.Conv($"conv{idx}", v, outC, 3, 1, 1, bias: false) : CompactConv(b, $"conv{idx}", v, outC, compact);
            v = b.BatchNorm($"bn{idx}", v);
            v = b.Op($"relu{idx}", "relu", v);
        }
        v = b.Op("flatten", "flatten", v, new() { ["start_axis"] = 1 });
        v = b.Op("relu_fc1", "relu", b.Linear("fc1", v, 256 * w));
        return b.Linear("fc2", v, c.NumClasses);
    }

    /// <summary>A 3x3 conv (pad 1) replaced by depthwise + pointwise ("dws") or a fire module ("fire"), no biases.</summary>
    private static string CompactConv(NetBuilder b, string name, string x, int outC, string kind)
    {
        int inC = b.Shape(x)[0];
        if (kind == "dws") return b.Conv(name + ".pw", b.Conv(name + ".dw", x, inC, 3, 1, 1, groups: inC, bias: false), outC, 1, bias: false);
        var squeeze = b.Conv(name + ".squeeze", x, Math.Max(1, inC / 4), 1, bias: false);
        var e1 = b.Conv(name + ".expand1", squeeze, outC / 2, 1, bias: false);
        var e3 = b.Conv(name + ".expand3", squeeze, outC - outC / 2, 3, 1, 1, bias: false);
        return b.Op(name, "concat", [e1, e3], new() { ["axis"] = 1 });
    }

    private static string ResNet20(NetBuilder b, ModelConfig c)
    {
        int w = 16 * c.Width;
        var v = b.Op("relu1", "relu", b.BatchNorm("bn1", b.Conv("conv1", b.Input, w, 3, 1, 1, bias: false)));
        int inC = w;
        for (int stage = 0; stage < 3; stage++)
        {
            int outC = w << stage;
            for (int k = 0; k < 3; k++)
            {
                int stride = stage > 0 && k == 0 ? 2 : 1;
                v = BasicBlock(b, $"layer{stage + 1}_{k}", v, inC, outC, stride);
                inC = outC;
            }
        }
        v = b.Op("pool", "global_avgpool2d", v);
        v = b.Op("flatten", "flatten", v, new() { ["start_axis"] = 1 });
        return b.Linear("fc", v, c.NumClasses);
    }

    /// <summary>ResNet basic block (He et al. 2016): relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), 1x1 conv + BN projection when the shape changes.</summary>
    public static string BasicBlock(NetBuilder b, string path, string x, int inC, int outC, int stride)
    {
        var h = b.Op(path + ".relu1", "relu", b.BatchNorm(path + ".bn1", b.Conv(path + ".conv1", x, outC, 3, stride, 1, bias: false)));
        h = b.BatchNorm(path + ".bn2", b.Conv(path + ".conv2", h, outC, 3, 1, 1, bias: false));
        var s = stride != 1 || inC != outC
            ? b.BatchNorm(path + ".shortcut.1", b.Conv(path + ".shortcut.0", x, outC, 1, stride, 0, bias: false))
            : x;
        return b.Op(path + ".relu2", "relu", b.Op(path + ".add", "add", [h, s]));
    }
}

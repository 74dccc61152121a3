using DeepShrink.Core;

namespace DeepShrink.Nn.Zoo;

/// <summary>
/// Reference networks, adapted to 28x28 single-channel inputs by default.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>lenet-300-100</c>: 784-300-100-10 MLP with ReLU (LeCun et al. 1998; Han et al. 2015), 266,200 weights.</item>
/// <item><c>lenet-5</c>: the Caffe variant used by Deep Compression: conv 20@5x5, max-pool 2, conv 50@5x5,
/// max-pool 2, fc 500, fc 10 (430,500 weights); ReLU after each conv and after fc 500.</item>
/// <item><c>vgg-small</c>: VGG-style 3x3 conv stacks with batch norm: 32-32-M-64-64-M-128-128-M, fc 256, fc 10.</item>
/// <item><c>resnet-20</c>: He et al. (2016) CIFAR ResNet-20: 3x3 stem, 3 stages x 3 basic blocks (16, 32, 64 channels), global average pool, fc.</item>
/// </list>
/// </remarks>
public static class ModelZoo
{
    /// <summary>Known architecture names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "lenet-300-100", "lenet-5", "vgg-small", "resnet-20" };

    /// <summary>Creates a freshly initialised model.</summary>
    public static Module Create(string arch, ModelConfig config, Rng rng)
    {
        config.Validate();
        return arch switch
        {
            "lenet-300-100" => LeNet300100(config, rng),
            "lenet-5" => LeNet5(config, rng),
            "vgg-small" => VggSmall(config, rng),
            "resnet-20" => ResNet20(config, rng),
            _ => throw new ArgumentException($"unknown model '{arch}' (known: {string.Join(", ", Names)})"),
        };
    }

    private static Module LeNet300100(ModelConfig c, Rng rng)
    {
        int inF = c.InChannels * c.ImageSize * c.ImageSize;
        return new Sequential(
            ("flatten", new Flatten()),
            ("fc1", new Linear(inF, 300, rng)), ("relu1", Activation.ReLU()),
            ("fc2", new Linear(300, 100, rng)), ("relu2", Activation.ReLU()),
            ("fc3", new Linear(100, c.NumClasses, rng)));
    }

    private static Module LeNet5(ModelConfig c, Rng rng)
    {
        int s = ((c.ImageSize - 4) / 2 - 4) / 2;
        if (s < 1) throw new ArgumentException($"lenet-5 needs image_size >= 16, got {c.ImageSize}");
        return new Sequential(
            ("conv1", new Conv2d(c.InChannels, 20, 5, rng)), ("relu1", Activation.ReLU()), ("pool1", new MaxPool2d(2)),
            ("conv2", new Conv2d(20, 50, 5, rng)), ("relu2", Activation.ReLU()), ("pool2", new MaxPool2d(2)),
            ("flatten", new Flatten()),
            ("fc1", new Linear(50 * s * s, 500, rng)), ("relu3", Activation.ReLU()),
            ("fc2", new Linear(500, c.NumClasses, rng)));
    }

    private static Module VggSmall(ModelConfig c, Rng rng)
    {
        int w = c.Width;
        var seq = new Sequential(Array.Empty<Module>());
        int inC = c.InChannels, size = c.ImageSize, idx = 0;
        foreach (int outC in new[] { 32 * w, 32 * w, -1, 64 * w, 64 * w, -1, 128 * w, 128 * w, -1 })
        {
            if (outC < 0) { seq.Add($"pool{idx}", new MaxPool2d(2)); size /= 2; continue; }
            idx++;
            seq.Add($"conv{idx}", new Conv2d(inC, outC, 3, rng, 1, 1, bias: false));
            seq.Add($"bn{idx}", new BatchNorm(outC));
            seq.Add($"relu{idx}", Activation.ReLU());
            inC = outC;
        }
        seq.Add("flatten", new Flatten());
        seq.Add("fc1", new Linear(inC * size * size, 256 * w, rng));
        seq.Add("relu_fc1", Activation.ReLU());
        seq.Add("fc2", new Linear(256 * w, c.NumClasses, rng));
        return seq;
    }

    private static Module ResNet20(ModelConfig c, Rng rng)
    {
        int w = 16 * c.Width;
        var seq = new Sequential(
            ("conv1", new Conv2d(c.InChannels, w, 3, rng, 1, 1, bias: false)),
            ("bn1", new BatchNorm(w)), ("relu1", Activation.ReLU()));
        int inC = w;
        for (int stage = 0; stage < 3; stage++)
        {
            int outC = w << stage;
            for (int b = 0; b < 3; b++)
            {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                seq.Add($"layer{stage + 1}_{b}", new ResidualBlock(inC, outC, stride, rng));
                inC = outC;
            }
        }
        seq.Add("pool", new AdaptiveAvgPool2d(1));
        seq.Add("flatten", new Flatten());
        seq.Add("fc", new Linear(inC, c.NumClasses, rng));
        return seq;
    }
}

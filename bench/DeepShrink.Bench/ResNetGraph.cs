using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Bench;

/// <summary>
/// A ResNet with basic blocks in the ImageNet layout, as a <see cref="ModelGraph"/> with seeded random
/// dense weights: conv 7x7/2 pad 3 -> BN -> ReLU -> maxpool 3x3/2 pad 1 -> stages of basic blocks
/// (the first block of every stage after the first halves the resolution; a 1x1/2 projection with BN
/// whenever the shape changes) -> global average pool -> flatten -> linear. Tensor names follow
/// torchvision (<c>layer2.0.downsample.0.weight</c>, <c>fc.weight</c>).
/// </summary>
/// <remarks>
/// He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition" (CVPR 2016), table 1:
/// ResNet18 is widths (64, 128, 256, 512) with two blocks per stage; a basic block computes
/// <c>relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))</c>. Weights are He-normal,
/// <c>N(0, 2 / fan_in)</c>; batch-norm statistics and affine parameters are drawn so that activations
/// stay of order one through the residual sum (speed and parity only: the network is untrained).
/// </remarks>
public static class ResNetGraph
{
    /// <summary>ResNet18 (1000 classes) for square RGB images of <paramref name="imageSize"/> pixels.</summary>
    public static (ModelGraph Graph, Dictionary<string, Tensor> Tensors) ResNet18(int imageSize, ulong seed = 18) =>
        Build(imageSize, [64, 128, 256, 512], 2, 1000, seed);

    /// <summary>Any basic-block ResNet: stage widths, blocks per stage, classes.</summary>
    public static (ModelGraph Graph, Dictionary<string, Tensor> Tensors) Build(int imageSize, int[] widths, int blocksPerStage, int classes, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (imageSize < 8) throw new ArgumentOutOfRangeException(nameof(imageSize), $"image size must be >= 8, got {imageSize}");
        if (widths.Length == 0 || widths.Any(w => w < 1) || blocksPerStage < 1 || classes < 1)
            throw new ArgumentException("widths, blocks per stage and classes must be positive");
        var b = new Builder(new Rng(seed), new GraphBuilder([3, imageSize, imageSize]));
        string x = b.ConvBn("conv1", "bn1", b.Graph.Graph.Input, 3, widths[0], 7, 2, relu: true);
        x = b.Graph.Add("maxpool", "maxpool2d", [x], attrs: new() { ["kernel"] = 3, ["stride"] = 2, ["pad"] = 1 });
        int channels = widths[0];
        for (int s = 0; s < widths.Length; s++)
            for (int k = 0; k < blocksPerStage; k++)
            {
                int stride = s > 0 && k == 0 ? 2 : 1;
                x = b.Block($"layer{s + 1}.{k}", x, channels, widths[s], stride);
                channels = widths[s];
            }
        x = b.Graph.Add("avgpool", "global_avgpool2d", [x]);
        x = b.Graph.Add("flatten", "flatten", [x], attrs: new() { ["start_axis"] = 1 });
        b.Tensors["fc.weight"] = Tensor.Randn(b.Rng, 1f / MathF.Sqrt(channels), classes, channels);
        b.Tensors["fc.bias"] = Tensor.Randn(b.Rng, 0.01f, classes);
        x = b.Graph.Add("fc", "linear", [x], new() { ["weight"] = "fc.weight", ["bias"] = "fc.bias" });
        return (b.Graph.Finish(x), b.Tensors);
    }

    private sealed class Builder(Rng rng, GraphBuilder graph)
    {
        public Rng Rng { get; } = rng;
        public GraphBuilder Graph { get; } = graph;
        public Dictionary<string, Tensor> Tensors { get; } = new(StringComparer.Ordinal);

        public string Block(string name, string x, int inC, int outC, int stride)
        {
            string y = ConvBn($"{name}.conv1", $"{name}.bn1", x, inC, outC, 3, stride, relu: true);
            y = ConvBn($"{name}.conv2", $"{name}.bn2", y, outC, outC, 3, 1, relu: false);
            string shortcut = stride != 1 || inC != outC
                ? ConvBn($"{name}.downsample.0", $"{name}.downsample.1", x, inC, outC, 1, stride, relu: false)
                : x;
            string sum = Graph.Add($"{name}.add", "add", [y, shortcut]);
            return Graph.Add($"{name}.relu", "relu", [sum]);
        }

        public string ConvBn(string conv, string bn, string x, int inC, int outC, int k, int stride, bool relu)
        {
            Tensors[conv + ".weight"] = Tensor.Randn(Rng, MathF.Sqrt(2f / (inC * k * k)), outC, inC, k, k);
            string y = Graph.Add(conv, "conv2d", [x], new() { ["weight"] = conv + ".weight" }, new()
            {
                ["stride_h"] = stride, ["stride_w"] = stride, ["pad_h"] = k / 2, ["pad_w"] = k / 2,
            });
            Tensors[bn + ".weight"] = Tensor.Uniform(Rng, 0.3f, 0.7f, outC);
            Tensors[bn + ".bias"] = Tensor.Randn(Rng, 0.1f, outC);
            Tensors[bn + ".running_mean"] = Tensor.Randn(Rng, 0.1f, outC);
            Tensors[bn + ".running_var"] = Tensor.Uniform(Rng, 0.5f, 1.5f, outC);
            y = Graph.Add(bn, "batchnorm", [y], new()
            {
                ["weight"] = bn + ".weight", ["bias"] = bn + ".bias", ["running_mean"] = bn + ".running_mean", ["running_var"] = bn + ".running_var",
            }, new() { ["eps"] = 1e-5 });
            return relu ? Graph.Add(bn + ".relu", "relu", [y]) : y;
        }
    }
}

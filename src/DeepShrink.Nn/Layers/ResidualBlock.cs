using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>
/// ResNet basic block (He et al. 2016): relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
/// with a 1x1 conv + BN projection shortcut when the shape changes.
/// </summary>
public sealed class ResidualBlock : Module
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm _bn1, _bn2;
    private readonly Sequential? _shortcut;

    /// <summary>Creates a block from <paramref name="inChannels"/> to <paramref name="outChannels"/> with the given stride.</summary>
    public ResidualBlock(int inChannels, int outChannels, int stride, Rng rng)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(inChannels, outChannels, 3, rng, stride, 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm(outChannels));
        _conv2 = RegisterModule("conv2", new Conv2d(outChannels, outChannels, 3, rng, 1, 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm(outChannels));
        if (stride != 1 || inChannels != outChannels)
            _shortcut = RegisterModule("shortcut", new Sequential(
                new Conv2d(inChannels, outChannels, 1, rng, stride, 0, bias: false), new BatchNorm(outChannels)));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var h = Ops.Relu(_bn1.Call(_conv1.Call(x)));
        h = _bn2.Call(_conv2.Call(h));
        var s = _shortcut is null ? x : _shortcut.Call(x);
        return Ops.Relu(Ops.Add(h, s));
    }

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        var h = _conv1.AppendGraph(g, input, PathOf(path, "conv1"));
        h = _bn1.AppendGraph(g, h, PathOf(path, "bn1"));
        h = g.Add(PathOf(path, "relu1"), "relu", new[] { h });
        h = _conv2.AppendGraph(g, h, PathOf(path, "conv2"));
        h = _bn2.AppendGraph(g, h, PathOf(path, "bn2"));
        var s = _shortcut is null ? input : _shortcut.AppendGraph(g, input, PathOf(path, "shortcut"));
        var sum = g.Add(PathOf(path, "add"), "add", new[] { h, s });
        return g.Add(PathOf(path, "relu2"), "relu", new[] { sum });
    }
}

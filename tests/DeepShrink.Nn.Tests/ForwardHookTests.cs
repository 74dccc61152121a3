using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Nn.Tests;

public class ForwardHookTests
{
    private sealed class ScaleInput(float factor) : IForwardHook
    {
        public Tensor Counter { get; } = Tensor.Zeros(1);
        public Tensor Forward(Module module, Tensor x, Func<Tensor, Tensor> next)
        {
            Counter.Span[0]++;
            return next(Ops.MulScalar(x, factor));
        }
        public IReadOnlyDictionary<string, double> GraphAttrs => new Dictionary<string, double> { ["in_scale"] = factor };
        public IReadOnlyDictionary<string, Tensor> State => new Dictionary<string, Tensor> { ["calls"] = Counter };
    }

    [Fact]
    public void Sequential_RunsChildrenThroughTheirHooks_AndStateAndGraphRecordThem()
    {
        var rng = new Rng(1);
        var model = new Sequential(("fc1", new Linear(4, 3, rng)), ("relu", Activation.ReLU()), ("fc2", new Linear(3, 2, rng)));
        var x = Tensor.Randn(rng, 1f, 5, 4);
        var before = model.Forward(x).ToArray();
        var fc2 = (Linear)model.Layers[2];
        var hook = new ScaleInput(2f);
        fc2.ForwardHook = hook;
        var after = model.Forward(x).ToArray();
        // fc2 is linear: doubling its input doubles its output minus the bias.
        var h = Ops.Relu(model.Layers[0].Forward(x)).ToArray();
        var direct = fc2.Forward(Tensor.FromArray(h.Select(v => 2 * v).ToArray(), 5, 3)).ToArray();
        Assert.Equal(direct, after);
        Assert.NotEqual(before, after);
        Assert.Equal(1f, hook.Counter.Span[0]);

        var state = model.StateDict();
        Assert.Same(hook.Counter, state["fc2.calls"]);
        var graph = model.AppendGraphRoot(new[] { 4 });
        var node = graph.Nodes.Single(n => n.Name == "fc2");
        Assert.Equal(2.0, node.Attrs["in_scale"]);
        Assert.Equal("fc2.calls", node.Params["calls"]);
    }
}

using DeepShrink.Core;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Nn.Tests;

public class ModuleTests
{
    [Fact]
    public void LeNet300_HasDottedNames_And_PaperWeightCount()
    {
        var m = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(1));
        var names = m.NamedParameters().Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias" }, names);
        long weights = m.NamedParameters().Where(p => p.Name.EndsWith("weight")).Sum(p => (long)p.Param.Size);
        Assert.Equal(266_200, weights);
    }

    [Fact]
    public void StateDict_RoundTrip_GivesIdenticalOutputs()
    {
        var a = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(1));
        var b = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(2));
        var x = Tensor.Uniform(new Rng(3), 0f, 1f, 4, 1, 28, 28);
        a.Eval(); b.Eval();
        Assert.NotEqual(0f, a.Forward(x).MaxAbsDiff(b.Forward(x)));
        b.LoadStateDict(a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone()));
        Assert.Equal(0f, a.Forward(x).MaxAbsDiff(b.Forward(x)));
    }

    [Fact]
    public void LoadStateDict_Strict_NamesTheProblem()
    {
        var a = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(1));
        var sd = a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        sd.Remove("fc2.bias");
        var e = Assert.Throws<ArgumentException>(() => a.LoadStateDict(sd));
        Assert.Contains("fc2.bias", e.Message);
        sd["fc2.bias"] = Tensor.Zeros(7);
        e = Assert.Throws<ArgumentException>(() => a.LoadStateDict(sd));
        Assert.Contains("shape mismatch for fc2.bias", e.Message);
    }

    [Fact]
    public void Graph_Of_LeNet300_ListsLayersInOrder()
    {
        var m = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(1));
        var g = m.AppendGraphRoot(new[] { 1, 28, 28 });
        Assert.Equal(new[] { "flatten", "linear", "relu", "linear", "relu", "linear" }, g.Nodes.Select(n => n.Op).ToArray());
        Assert.Equal("fc2.weight", g.Nodes[3].Params["weight"]);
        var back = Core.Graph.ModelGraph.FromJson(g.ToJson());
        Assert.Equal(g.Nodes.Count, back.Nodes.Count);
        Assert.Equal(g.Output, back.Output);
    }

    [Fact]
    public void UnknownModel_IsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("lenet-7", new ModelConfig(), new Rng(1)));
        Assert.Contains("unknown model 'lenet-7'", e.Message);
    }
}

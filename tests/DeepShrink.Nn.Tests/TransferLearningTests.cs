using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Nn.Tests;

public class TransferLearningTests
{
    // A size-agnostic "pretrained" CNN ending in pooled features [8, 1, 1] (like ResNet18's featurizer).
    private static GraphModule Featurizer(int size = 12)
    {
        var b = new NetBuilder([2, size, size], new Rng(7));
        var x = b.Conv("stem", b.Input, 4, 3, padding: 1);
        x = b.BatchNorm("stem_bn", x);
        x = b.Op("stem_relu", "relu", x);
        var y = b.Conv("branch", x, 4, 3, padding: 1);
        x = b.Op("sum", "add", [x, y]);
        x = b.Conv("widen", x, 8, 1);
        x = b.Op("pool", "global_avgpool2d", x);
        return b.Finish(x);
    }

    private static GraphModule Classifier()
    {
        var b = new NetBuilder([2, 6, 6], new Rng(3));
        var x = b.Conv("conv", b.Input, 3, 3);
        x = b.Op("flat", "flatten", x);
        x = b.Linear("fc", x, 5);
        return b.Finish(x);
    }

    private static Tensor Images(int n, int size, ulong seed) => Tensor.Randn(new Rng(seed), 1f, n, 2, size, size);

    [Fact]
    public void WithHead_Appends_A_Classifier_After_Pooled_Features_And_Keeps_The_Backbone()
    {
        var net = Featurizer();
        var (tuned, head) = TransferLearning.WithHead(net, 3, new Rng(1));
        Assert.Equal(TransferLearning.HeadName, head);
        Assert.Equal([3], tuned.OutputShapeOfGraph);
        var x = Images(4, 12, 5);
        net.Eval(); tuned.Eval();
        using var _ = Engine.NoGrad();
        var features = net.Forward(x).ContiguousData().ToArray();          // [4, 8, 1, 1]
        var logits = tuned.Forward(x).ContiguousData().ToArray();          // [4, 3]
        var w = tuned.Layer(head)!.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 3; k++)
            {
                double expect = w["bias"][k];
                for (int j = 0; j < 8; j++) expect += w["weight"][k, j] * features[i * 8 + j];
                Assert.Equal(expect, logits[i * 3 + k], 4);
            }
    }

    [Fact]
    public void WithHead_Replaces_An_Existing_Classifier()
    {
        var net = Classifier();
        var (tuned, head) = TransferLearning.WithHead(net, 7, new Rng(1));
        Assert.Equal([7], tuned.OutputShapeOfGraph);
        Assert.Null(tuned.Graph.Find("fc"));
        Assert.Equal(tuned.Graph.Find("flat")!.Output, tuned.Graph.Find(head)!.Inputs[0]);
        Assert.Equal(net.StateDict()["conv.weight"].ToArray(), tuned.StateDict()["conv.weight"].ToArray());
        Assert.Throws<ArgumentException>(() => TransferLearning.WithHead(net, 0, new Rng(1)));
    }

    [Fact]
    public void WithImageSize_Resizes_Size_Agnostic_Nets_And_Refuses_A_Fixed_Flatten()
    {
        var net = Featurizer(12);
        var small = TransferLearning.WithImageSize(net, 5, 5);
        Assert.Equal([2, 5, 5], small.InputShape);
        Assert.Equal([8, 1, 1], small.OutputShapeOfGraph);
        var e = Assert.Throws<ArgumentException>(() => TransferLearning.WithImageSize(Classifier(), 8, 8));
        Assert.Contains("cannot take 8x8", e.Message);
    }

    [Fact]
    public void Frozen_Backbone_Keeps_Weights_And_BatchNorm_Statistics_While_The_Head_Learns()
    {
        var (net, head) = TransferLearning.WithHead(Featurizer(), 2, new Rng(1));
        long frozen = TransferLearning.Freeze(net, n => n == head);
        Assert.Equal(net.ParameterCount() - 8 * 2 - 2, frozen);
        var before = net.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var opt = new Sgd(TransferLearning.TrainableParameters(net), 0.1f, 0.9f);
        var x = Images(16, 12, 9);
        var y = Enumerable.Range(0, 16).Select(i => i % 2).ToArray();
        new Trainer().Fit(net, opt, _ => [(x, y)], epochs: 3);
        var after = net.StateDict();
        foreach (var (name, values) in before)
        {
            bool isHead = name.StartsWith(head + ".", StringComparison.Ordinal);
            if (isHead) Assert.NotEqual(values, after[name].ToArray());
            else Assert.Equal(values, after[name].ToArray()); // weights and running statistics
        }
    }

    [Fact]
    public void Backbone_Outputs_The_Heads_Input()
    {
        var (net, head) = TransferLearning.WithHead(Featurizer(), 4, new Rng(2));
        var backbone = TransferLearning.Backbone(net, head);
        Assert.Equal([8], backbone.OutputShapeOfGraph);
        net.Eval(); backbone.Eval();
        using var _ = Engine.NoGrad();
        var x = Images(3, 12, 4);
        var viaHead = net.Layer(head)!.Forward(backbone.Forward(x)).ToArray();
        Assert.Equal(net.Forward(x).ToArray(), viaHead);
    }
}

using DeepShrink.Cli.Commands;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Core;
using DeepShrink.Nn;

using DeepShrink.Nn.Zoo;

namespace DeepShrink.EndToEnd.Tests;

/// <summary>Student specs of <c>distill --student</c>: zoo names with a width factor.</summary>
public sealed class DistillCliTests
{
    private static List<int> ConvWidths(GraphModule m) => m.Layers().Where(l => l.Layer is Conv2d).Select(l => ((Conv2d)l.Layer).OutChannels).ToList();

    [Fact]
    public void ZooStudentWithAWidthFactor_ScalesEveryLayerButTheTeachersOutput()
    {
        var teacher = StudentZoo.Create("vgg-small", new ModelConfig { ImageSize = 28 }, new Rng(1));
        var plain = DistillCommand.MakeStudent("fitnet-thin", teacher, 7);
        var wide = DistillCommand.MakeStudent("fitnet-thin:1.5", teacher, 7);
        Assert.Equal(ConvWidths(plain).Select(c => (int)Math.Round(c * 1.5, MidpointRounding.AwayFromZero)), ConvWidths(wide));
        Assert.Equal(teacher.OutputShapeOfGraph, wide.OutputShapeOfGraph);
        Assert.True(wide.ParameterCount() > 2 * plain.ParameterCount());
        var e = Assert.Throws<CliException>(() => DistillCommand.MakeStudent("fitnet-thin:wide", teacher, 7));
        Assert.Contains("NAME:W", e.Message);
        Assert.Throws<CliException>(() => DistillCommand.MakeStudent("fitnet-thin:0", teacher, 7));
        Assert.Throws<CliException>(() => DistillCommand.MakeStudent("no-such-net:2", teacher, 7));
    }

    [Fact]
    public void HintListsOfDifferentLengths_ExitWithOneLine()
    {
        var (code, _, err) = CliEndToEndTests.Run("distill", "--teacher", "missing.safetensors", "--student", "fitnet-thin", "--out", "s.safetensors",
            "--hint", "relu2,relu4", "--guided", "relu3", "--hint-epochs", "0", "--hint-weight", "10");
        Assert.Equal(2, code);
        Assert.Contains("2 hint layer(s) (relu2,relu4) but 1 guided layer(s) (relu3)", err);
        Assert.Single(err.Trim().Split('\n'));
    }
}

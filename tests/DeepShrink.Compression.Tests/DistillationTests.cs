using DeepShrink.Compression.Distillation;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Tests;

public class DistillationTests
{
    private static (Linear Teacher, Tensor X, int[] Y) Setup()
    {
        var rng = new Rng(7);
        var teacher = new Linear(6, 4, rng);
        var x = Tensor.Uniform(rng, -1f, 1f, 5, 6);
        return (teacher, x, new[] { 0, 3, 1, 2, 3 });
    }

    [Fact]
    public void WeightZero_IsTheLabelLoss()
    {
        var (teacher, x, y) = Setup();
        var z = Tensor.Uniform(new Rng(3), -2f, 2f, 5, 4);
        var kd = KnowledgeDistillation.Loss(teacher, 4f, 0f, 0.1f)(z, x, y).Item();
        Assert.Equal(Ops.CrossEntropy(z, y, 0.1f).Item(), kd, 6);
    }

    [Fact]
    public void StudentEqualToTeacher_HasZeroSoftLossAndGradient()
    {
        var (teacher, x, y) = Setup();
        Tensor z;
        using (Engine.NoGrad()) z = teacher.Forward(x);
        z.RequiresGrad = true;
        var loss = KnowledgeDistillation.Loss(teacher, 3f, 1f)(z, x, y);
        Assert.True(Math.Abs(loss.Item()) < 1e-5f, $"KL of identical distributions is {loss.Item()}");
        loss.Backward();
        Assert.True(z.Grad!.ToArray().Max(Math.Abs) < 1e-6f);
    }

    [Fact]
    public void SoftTerm_PullsStudentTowardsTeacher()
    {
        var (teacher, x, y) = Setup();
        var z = Tensor.Uniform(new Rng(5), -2f, 2f, 5, 4);
        var loss = KnowledgeDistillation.Loss(teacher, 2f, 1f);
        Assert.True(loss(z, x, y).Item() > 1e-3f);
    }

    [Fact]
    public void Gradient_MatchesFiniteDifferences()
    {
        var (teacher, x, y) = Setup();
        var z = Tensor.Uniform(new Rng(11), -2f, 2f, 5, 4);
        z.RequiresGrad = true;
        var loss = KnowledgeDistillation.Loss(teacher, 4f, 0.7f, 0.1f);
        var r = GradCheck.Check(t => loss(t[0], x, y), new[] { z });
        Assert.True(r.Ok, $"gradient mismatch (ratio {r.WorstRatio:G3}) at {r.Where}");
    }

    [Theory]
    [InlineData(0f, 0.5f)]
    [InlineData(2f, 1.5f)]
    public void BadSettings_Throw(float t, float w)
    {
        var (teacher, _, _) = Setup();
        Assert.ThrowsAny<ArgumentException>(() => KnowledgeDistillation.Loss(teacher, t, w));
    }

    [Fact]
    public void Recipe_ParsesDistillationAndAugmentation()
    {
        const string yaml = "version: 1\ntraining:\n  distillation: {temperature: 3, weight: 0.6}\ncomponents:\n  p:\n    type: magnitude-pruning\n    sparsity: 0.5\npolicies:\n  - {component: p, start_epoch: 0, end_epoch: 2}\n";
        var r = RecipeLoader.Parse(yaml, "t.yaml");
        Assert.Equal(new DistillationSettings(3, 0.6), r.Training.Distillation);
        Assert.False(r.Training.Flip);
        var aug = RecipeLoader.Parse(yaml.Replace("training:\n", "training:\n  augment: {flip: true, crop_padding: 2}\n"), "t.yaml");
        Assert.True(aug.Training.Flip);
        Assert.Equal(2, aug.Training.CropPadding);
        Assert.Contains("fli", Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml.Replace("training:\n", "training:\n  augment: {fli: true}\n"), "t.yaml")).Message);
        var bad = yaml.Replace("weight: 0.6", "weigth: 0.6");
        Assert.Contains("weigth", Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(bad, "t.yaml")).Message);
    }
}

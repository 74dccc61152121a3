namespace DeepShrink.Compression.Tests;

/// <summary>The validation margin of the budget check.</summary>
public class BudgetMarginTests
{
    [Fact]
    public void PairedMarginIsSqrtOfDiscordantOverN()
    {
        bool[] a = [true, true, false, false], b = [true, false, true, false];
        Assert.Equal(Math.Sqrt(2) / 4 * 100, Pipeline.RecipeRunner.PairedMarginPp(a, b, 1.0), 10);
        Assert.Equal(0, Pipeline.RecipeRunner.PairedMarginPp(a, a, 1.0));
        Assert.Equal(2 * Math.Sqrt(2) / 4 * 100, Pipeline.RecipeRunner.PairedMarginPp(a, b, 2.0), 10);
        Assert.Throws<ArgumentException>(() => Pipeline.RecipeRunner.PairedMarginPp(a, [true], 1.0));
    }
}

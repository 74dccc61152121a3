using DeepShrink.Core;
using DeepShrink.Data.Transforms;

namespace DeepShrink.Data.Tests;

public class TransformTests
{
    private static float[] Image(int n, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextFloat() + 1f).ToArray();
    }

    [Fact]
    public void FlipTwice_IsIdentity_AndFlipMirrorsRows()
    {
        var img = Image(2 * 3 * 5, 1);
        var x = (float[])img.Clone();
        var flip = new RandomHorizontalFlip(1.0);
        var rng = new Rng(1);
        flip.Apply(x, 2, 3, 5, rng, new float[30]);
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 3; y++)
                for (int xx = 0; xx < 5; xx++)
                    Assert.Equal(img[c * 15 + y * 5 + 4 - xx], x[c * 15 + y * 5 + xx]);
        flip.Apply(x, 2, 3, 5, rng, new float[30]);
        Assert.Equal(img, x);
    }

    [Fact]
    public void Flip_HappensWithTheGivenProbability()
    {
        var flip = new RandomHorizontalFlip();
        var rng = new Rng(2);
        int flipped = 0;
        for (int i = 0; i < 2000; i++)
        {
            var x = new float[] { 1, 2 };
            flip.Apply(x, 1, 1, 2, rng, new float[2]);
            if (x[0] == 2) flipped++;
        }
        Assert.InRange(flipped, 900, 1100);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(1.5));
    }

    [Fact]
    public void CropWithZeroPadding_IsIdentity()
    {
        var img = Image(3 * 4 * 4, 3);
        var x = (float[])img.Clone();
        var rng = new Rng(3);
        for (int i = 0; i < 10; i++) new RandomCrop(0).Apply(x, 3, 4, 4, rng, new float[48]);
        Assert.Equal(img, x);
    }

    [Fact]
    public void Crop_MatchesPadThenCropReference()
    {
        const int C = 2, H = 5, W = 6, P = 2;
        var img = Image(C * H * W, 4);
        for (int dy = -P; dy <= P; dy++)
        for (int dx = -P; dx <= P; dx++)
        {
            // Reference: build the padded image explicitly, then cut the window at (P + dy, P + dx).
            int ph = H + 2 * P, pw = W + 2 * P;
            var padded = Enumerable.Repeat(-7f, C * ph * pw).ToArray();
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) padded[c * ph * pw + (y + P) * pw + x + P] = img[c * H * W + y * W + x];
            var expected = new float[C * H * W];
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) expected[c * H * W + y * W + x] = padded[c * ph * pw + (y + P + dy) * pw + x + P + dx];
            var got = (float[])img.Clone();
            RandomCrop.Shift(got, C, H, W, dy, dx, -7f, new float[C * H * W]);
            Assert.Equal(expected, got);
        }
    }

    [Fact]
    public void RandomCrop_UsesEveryOffsetAndKeepsPixelsFromTheSource()
    {
        var img = Image(1 * 6 * 6, 5);
        var crop = new RandomCrop(1);
        var rng = new Rng(6);
        var seen = new HashSet<string>();
        for (int i = 0; i < 300; i++)
        {
            var x = (float[])img.Clone();
            crop.Apply(x, 1, 6, 6, rng, new float[36]);
            Assert.All(x, v => Assert.True(v == 0f || img.Contains(v)));
            seen.Add(string.Join(",", x.Take(8)));
        }
        Assert.Equal(9, seen.Count);
    }

    [Fact]
    public void AugmentationIsCropsThenFlipsAndNothingWhenOff()
    {
        Assert.Empty(Augmentation.Of(0, false));
        Assert.IsType<RandomHorizontalFlip>(Assert.Single(Augmentation.Of(0, true)));
        Assert.Equal(3, Assert.IsType<RandomCrop>(Assert.Single(Augmentation.Of(3, false))).Padding);
        var both = Augmentation.Of(2, true);
        Assert.Equal(2, both.Length);
        Assert.IsType<RandomCrop>(both[0]);
        Assert.IsType<RandomHorizontalFlip>(both[1]);
    }
}

namespace DeepShrink.Data.Transforms;

/// <summary>The training augmentation every trainer uses: random crops (when padded), then random left-right flips.</summary>
public static class Augmentation
{
    /// <summary>The transforms for <paramref name="cropPadding"/> (0 = no crops) and <paramref name="flip"/>, in that order.</summary>
    public static ISampleTransform[] Of(int cropPadding, bool flip)
    {
        var t = new List<ISampleTransform>();
        if (cropPadding > 0) t.Add(new RandomCrop(cropPadding));
        if (flip) t.Add(new RandomHorizontalFlip());
        return t.ToArray();
    }
}

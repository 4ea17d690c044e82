using MovingImages.Tracking;
using MovingImages.Geometry;

namespace MovingImages.Tests.Tracking;

public class KalmanTests
{
    [Fact]
    public void Filter_learns_constant_velocity_and_smooths_jitter()
    {
        var rng = new Random(8);
        Box Truth(int t) => new(100 + 3 * t, 50 + 1.5f * t, 40, 80);
        var kf = new KalmanBoxFilter(Truth(0));
        double rawError = 0, filteredError = 0;
        for (int t = 1; t <= 60; t++)
        {
            kf.Predict();
            var truth = Truth(t);
            var noisy = truth with { X = truth.X + (float)Gauss(rng) * 3, Y = truth.Y + (float)Gauss(rng) * 3 };
            var est = kf.Update(noisy);
            if (t > 20)
            {
                rawError += Math.Abs(noisy.CenterX - truth.CenterX) + Math.Abs(noisy.CenterY - truth.CenterY);
                filteredError += Math.Abs(est.CenterX - truth.CenterX) + Math.Abs(est.CenterY - truth.CenterY);
            }
        }
        Assert.True(filteredError < 0.75 * rawError, $"filtered {filteredError:0} vs raw {rawError:0}");
        // with no more measurements, prediction follows the learned velocity
        var p1 = kf.Predict();
        var p2 = kf.Predict();
        Assert.InRange(p2.CenterX - p1.CenterX, 2.5, 3.5);
        Assert.InRange(p2.CenterY - p1.CenterY, 1.0, 2.0);
        Assert.InRange(p2.Width, 35, 45);
    }

    internal static double Gauss(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}

using MovingImages.Media;

namespace MovingImages.Tests.Media;

public class FfmpegAvailabilityTests
{
    [Theory]
    [InlineData(0, false, 0, false, true)]    // both ran: yes, for good
    [InlineData(-1, true, -1, true, false)]   // not installed: no, for good
    [InlineData(0, false, -1, true, false)]   // ffmpeg missing
    [InlineData(-1, false, -1, false, null)]  // timed out (a busy machine): ask again next time
    [InlineData(1, false, 0, false, null)]    // ran and failed: not a lasting answer either
    public void Only_a_definite_answer_is_kept(int probeCode, bool probeMissing, int mpegCode, bool mpegMissing, bool? kept) =>
        Assert.Equal(kept, Ffmpeg.Availability(probeCode, probeMissing, mpegCode, mpegMissing));

    [Fact]
    public void Ffmpeg_is_found_here() // CI installs it (.ci/run); the audio tests depend on it
    {
        Assert.True(Ffmpeg.IsAvailable, Ffmpeg.WhyUnavailable);
        Assert.Null(Ffmpeg.WhyUnavailable);
    }
}

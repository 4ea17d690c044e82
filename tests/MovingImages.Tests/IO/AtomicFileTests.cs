using System.Diagnostics;
using MovingImages.IO;

namespace MovingImages.Tests.IO;

public class AtomicFileTests
{
    static int DeadPid()
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/true")) ?? throw new InvalidOperationException("cannot start /bin/true");
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public void A_write_replaces_the_target_whole_and_removes_temp_files_of_killed_runs_only()
    {
        var dir = TestData.NewTempDir("atomic");
        string target = Path.Combine(dir, "model.ckpt");
        File.WriteAllText(target, "old");
        string stale = Path.Combine(dir, $".model.{DeadPid()}.0123abcd.tmp.ckpt");   // a run killed mid-write
        string live = Path.Combine(dir, ".model.1.4567ef.tmp.ckpt");                   // PID 1 runs: not ours to delete
        string other = Path.Combine(dir, $".other.{DeadPid()}.89.tmp.ckpt");           // another target's
        foreach (var f in new[] { stale, live, other }) File.WriteAllText(f, "partial");

        Assert.Throws<IOException>(() => AtomicFile.Write(target, tmp => { File.WriteAllText(tmp, "half"); throw new IOException("disk full"); }));
        Assert.Equal("old", File.ReadAllText(target));                                  // a failed write leaves the old file
        AtomicFile.Write(target, tmp => File.WriteAllText(tmp, "new"));
        Assert.Equal("new", File.ReadAllText(target));

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other));
        Assert.Equal([".model.1.4567ef.tmp.ckpt", ".other." ], Directory.GetFiles(dir, ".*").Select(Path.GetFileName).Order()
            .Select(n => n!.StartsWith(".other.") ? ".other." : n!).ToArray());
    }

    [Fact]
    public void A_pending_file_reaches_its_target_only_when_committed()
    {
        var dir = TestData.NewTempDir("pending");
        string target = Path.Combine(dir, "run.jsonl");
        File.WriteAllText(target, "earlier run");
        using (var pending = AtomicFile.Begin(target, "partial"))
        {
            File.WriteAllText(pending.TempPath, "half");
            Assert.EndsWith(".partial.jsonl", pending.TempPath);
            Assert.Equal("earlier run", File.ReadAllText(target)); // not committed: the user's file is untouched
        }
        Assert.Equal("earlier run", File.ReadAllText(target));
        Assert.Equal(["run.jsonl"], Directory.GetFiles(dir).Select(Path.GetFileName));  // the abandoned temp file is gone

        using (var pending = AtomicFile.Begin(target, "partial"))
        {
            File.WriteAllText(pending.TempPath, "whole");
            pending.Commit();
            Assert.Throws<InvalidOperationException>(() => pending.Commit());
        }
        Assert.Equal("whole", File.ReadAllText(target));
        Assert.Equal(["run.jsonl"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }
}

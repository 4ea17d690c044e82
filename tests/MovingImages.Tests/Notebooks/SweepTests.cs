using System.Text.Json.Nodes;
using MovingImages.Notebooks.Sweeps;
using Xunit.Abstractions;

namespace MovingImages.Tests.Notebooks;

/// <summary><c>movingimages notebook sweep</c>: every combination, in kernel processes of their own, resumable, with what the notebooks record collected.</summary>
public class SweepTests(ITestOutputHelper output)
{
    [Fact]
    public void Combinations_vary_the_last_parameter_fastest_and_axes_parse()
    {
        var grid = new[] { NotebookSweep.ParseAxis("lr=1e-4, 5e-5"), NotebookSweep.ParseAxis("filters=32,64,128") };
        Assert.Equal(["1e-4", "5e-5"], grid[0].Values);
        var combos = NotebookSweep.Combinations(grid);
        Assert.Equal(6, combos.Count);
        Assert.Equal(("1e-4", "32"), (combos[0]["lr"], combos[0]["filters"]));
        Assert.Equal(("1e-4", "64"), (combos[1]["lr"], combos[1]["filters"]));
        Assert.Equal(("5e-5", "128"), (combos[5]["lr"], combos[5]["filters"]));
        Assert.Throws<ArgumentException>(() => NotebookSweep.ParseAxis("lr"));
        Assert.Throws<ArgumentException>(() => NotebookSweep.ParseAxis("lr=1,,2"));
        Assert.Throws<ArgumentException>(() => new NotebookSweep("x.ipynb", [grid[0], grid[0]], TestData.NewTempDir("sweep")));
        Assert.Equal(MovingImages.Interactive.NotebookDisplay.RecordMimeType, NotebookSweep.RecordMimeType); // the two ends agree
    }

    [Fact]
    public void A_sweep_runs_every_combination_collects_records_resumes_and_reports()
    {
        string notebook = TestNotebook.Write("sweep.ipynb",
            ($"#r \"{NotebookRunnerTests.InteractiveDll}\"\nusing MovingImages.Interactive;\nNotebookDisplay.Register();", null),
            ("var a = 1;\nvar b = \"x\";", "parameters"),
            ("if (a == 3) throw new InvalidOperationException(\"a run that fails\");\nNotebookDisplay.Record(\"twiceA\", a * 2);\nNotebookDisplay.Record(\"label\", b + a);", null));
        string folder = TestData.NewTempDir("sweep-out");
        string[] args = ["notebook", "sweep", notebook, "-p", "a=1,2,3", "-p", "b=x,y", "--out", folder, "--parallel", "2", "--timeout", "120"];

        var (code, stdout, stderr) = CliProcess.Run(args, TimeSpan.FromMinutes(6));
        output.WriteLine(stdout + stderr);
        Assert.Equal(1, code);                                   // two runs failed
        Assert.Contains("4 of 6 runs ok", stdout);
        var csv = File.ReadAllLines(Path.Combine(folder, "results.csv"));
        Assert.Equal("run,a,b,twiceA,label,status,seconds", csv[0]);
        Assert.Equal(7, csv.Length);
        for (int i = 1; i <= 6; i++)
        {
            var cells = csv[i].Split(',');
            int a = int.Parse(cells[1]);
            Assert.Equal(i.ToString(), cells[0]);
            Assert.Equal(a == 3 ? "failed" : "ok", cells[5]);
            if (a != 3)
            {
                Assert.Equal((2 * a).ToString(), cells[3]);       // what each run's notebook recorded, with its own parameters
                Assert.Equal(cells[2] + a, cells[4]);
            }
        }
        Assert.Contains("a run that fails", stderr);
        var executed = Directory.GetDirectories(Path.Combine(folder, "runs")).Select(d => Path.Combine(d, "sweep.ipynb")).ToArray();
        Assert.Equal(6, executed.Count(File.Exists));            // every run keeps its executed notebook
        Assert.Equal("4", NotebookSweep.ReadRecords(executed.Order().ElementAt(2))["twiceA"]!.ToJsonString()); // a=2, b=x

        string html = File.ReadAllText(Path.Combine(folder, "results.html"));
        Assert.Contains("data-movingimages=\"plotly.js 4.1.2\"", html);   // plotly.js embedded, no CDN
        Assert.DoesNotContain("<script src=", html);
        Assert.Contains("twiceA per run", html);
        Assert.Contains("a=2 b=y", html);

        // Resumed: the ok runs are kept, only the failed ones run again
        (code, stdout, stderr) = CliProcess.Run(args, TimeSpan.FromMinutes(4));
        output.WriteLine(stdout + stderr);
        Assert.Equal(1, code);
        Assert.Equal(4, stderr.Split('\n').Count(l => l.Contains("done before, kept")));
        Assert.Equal(2, stderr.Split('\n').Count(l => l.Contains(": running")));

        // A parameter the notebook does not have, or a bad value, fails before anything runs
        string other = TestData.NewTempDir("sweep-bad");
        (code, _, stderr) = CliProcess.Run(["notebook", "sweep", notebook, "-p", "c=1,2", "--out", other], TimeSpan.FromMinutes(1));
        Assert.Equal(1, code);
        Assert.Contains("declares no 'c'", stderr);
        (code, _, stderr) = CliProcess.Run(["notebook", "sweep", notebook, "-p", "a=1,two", "--out", other], TimeSpan.FromMinutes(1));
        Assert.Equal(1, code);
        Assert.Contains("a=two: not a valid Int32", stderr);
        Assert.False(Directory.Exists(Path.Combine(other, "runs")));
    }
}

module ingestd.bench/goingest

go 1.19
